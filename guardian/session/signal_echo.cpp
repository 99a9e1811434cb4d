// SignalEcho: see signal_echo.hpp.
#include "session/signal_echo.hpp"

#include <csignal>

namespace guardian::session {

bool SignalEcho::pairs(int sig) noexcept { return sig == SIGINT || sig == SIGHUP || sig == SIGQUIT; }

std::size_t SignalEcho::slot(int sig) noexcept { return sig == SIGINT ? 0 : sig == SIGHUP ? 1 : 2; }

bool SignalEcho::forward(int sig, pid_t sender, std::int64_t now_ns) {
  if (!pairs(sig)) return true;
  std::size_t i = slot(sig);
  Taken& t = taken_[i];
  if (t.valid && t.sender == sender && sender > 0 && now_ns - t.at < kWindowNs) {
    t.valid = false;  // that copy stands for this one
    return false;
  }
  fwd_[i] = Forwarded{sender, now_ns, true, false, false};
  return true;
}

bool SignalEcho::deliver(int sig, pid_t from, int code, std::int64_t now_ns) {
  if (!pairs(sig) || code > 0) return true;  // the kernel's (a terminal's ^C): not ours to pair
  std::size_t i = slot(sig);
  Forwarded& f = fwd_[i];
  if (f.active && now_ns - f.at >= kWindowNs) f.active = false;
  if (from == self_) {
    if (!f.active) return true;
    if (f.theirs_taken) {  // the sender's own copy came first: this one is its echo
      f.active = false;
      return false;
    }
    f.ours_taken = true;
    return true;
  }
  if (f.active && f.sender == from) {
    if (f.ours_taken) {  // ours came first: the sender's group copy is the echo
      f.active = false;
      return false;
    }
    // Ours is still queued (it then comes next and is dropped), or merged into this one.
    f.theirs_taken = true;
    return true;
  }
  taken_[i] = Taken{from, now_ns, true};
  return true;
}

}  // namespace guardian::session
