// One signal, delivered once: a signal sent to guardian's process group reaches the command
// directly (it shares our group) and through our forwarding. Natively the command is the
// one process of its parent's making: `timeout -s INT`, a service manager or a shell that
// signals the child and then the group gives it the same signal twice back to back, and the
// two merge while pending. Our forwarded copy comes later (a wake-up and a system call), so
// a shell's trap could run twice. SignalEcho pairs each forwarded signal with the group's
// copy from the same sender, as the tracer sees the command take them (signal-delivery
// stops), and lets only the first through.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>

namespace guardian::session {

class SignalEcho {
 public:
  explicit SignalEcho(pid_t self) : self_(self) {}
  // guardian got `sig` from process `sender` (SI_USER or SI_QUEUE): forward it? false when
  // the command has just taken the same signal from the same sender (a group-wide kill
  // that reached it first).
  bool forward(int sig, pid_t sender, std::int64_t now_ns);
  // The command (its thread group) is about to take `sig` sent by `from` with `code`:
  // deliver it? false for the second copy of one forwarded signal.
  bool deliver(int sig, pid_t from, int code, std::int64_t now_ns);
  // The signals this pairs (the ones guardian forwards): SIGINT, SIGHUP, SIGQUIT.
  static bool pairs(int sig) noexcept;

  // Within this time of each other, two copies from one sender are one signal.
  static constexpr std::int64_t kWindowNs = 1'000'000'000;

 private:
  struct Forwarded {
    pid_t sender = 0;
    std::int64_t at = 0;
    bool active = false, ours_taken = false, theirs_taken = false;
  };
  struct Taken {
    pid_t sender = 0;
    std::int64_t at = 0;
    bool valid = false;
  };
  static std::size_t slot(int sig) noexcept;
  pid_t self_;
  std::array<Forwarded, 3> fwd_{};
  std::array<Taken, 3> taken_{};
};

}  // namespace guardian::session
