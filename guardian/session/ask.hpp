// AskBroker: human approval for requests the profile does not allow (on_deny: ask, --ask).
// Holds each question while a human answers on /dev/tty or through --ask-socket (JSON Lines,
// guardian(1) ASK PROTOCOL); "always" answers become engine rules and overlay entries.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "decode/handler.hpp"
#include "session/ask_protocol.hpp"

namespace guardian::session {

struct AskSettings {
  bool terminal = true;      // prompt on /dev/tty when no socket is given
  std::string socket_path;   // --ask-socket
  std::string save_path;     // --ask-save
  std::string profile;       // the session's profile (name or path), for the overlay's extends
  double timeout_s = 60;     // unanswered questions are denied after this long
  std::string tty_path = "/dev/tty";  // tests point this at a pseudo-terminal
};

// The poll loop's registration, so the broker works with any loop (and in tests).
struct LoopHooks {
  // Watch fd for POLLIN; returns a handle.
  std::function<int(int fd, std::function<void(short)> cb)> add;
  std::function<void(int handle)> remove;
  // The answer for held notification `key` is ready: call Handler::handle again for it.
  std::function<void(std::uint64_t key)> resume;
  // Whether a process belongs to the session (its clients are refused on the socket).
  std::function<bool(pid_t)> in_session;
  // Applies an "always" answer for the rest of the session: Engine::add_rule(kind, pattern).
  std::function<void(const std::string& kind, const std::string& pattern)> add_rule;
};

class AskBroker final : public decode::Asker {
 public:
  // Opens the socket / terminal and loads the overlay (--ask-save) if it exists.
  static Result<std::unique_ptr<AskBroker>> create(const AskSettings& s, LoopHooks hooks);
  ~AskBroker() override;

  Reply consult(const decode::AskQuery& q) override;

  // Denies everything still held (the session is ending) and resumes them.
  void cancel_all();
  // The loop is going away before the broker: forget its hooks (the destructor then does
  // not unregister).
  void forget_loop() { hooks_ = LoopHooks{}; }
  // Questions currently held.
  std::size_t pending() const { return pending_.size(); }
  // What the front end is, for the session_start record: "terminal", "socket:PATH", "none".
  std::string describe() const;

 private:
  struct Pending {
    std::uint64_t id = 0;
    decode::AskQuery query;
    std::vector<std::string> argv;
    std::chrono::steady_clock::time_point deadline;
  };
  AskBroker() = default;
  void answer(std::uint64_t id, Verdict v, const char* by);
  void arm_timer();
  void on_timer();
  void on_accept();
  void on_client(int fd);
  void drop_client(int fd);
  void send_all(const std::string& line);
  void prompt_next();
  void on_tty();
  const policy::RuleOrigin* remember(const OverlayRule& r, bool deny);

  AskSettings s_;
  LoopHooks hooks_;
  UniqueFd listen_, timer_, tty_;
  int listen_handle_ = -1, timer_handle_ = -1, tty_handle_ = -1;
  struct Client {
    UniqueFd fd;
    int handle = -1;
    std::string in;
  };
  std::map<int, Client> clients_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Pending> pending_;              // by id
  std::map<std::uint64_t, std::uint64_t> id_of_key_;      // notification key -> id
  std::map<std::uint64_t, Reply> answered_;               // key -> answer, taken by consult
  std::set<std::pair<std::string, std::string>> denied_always_;  // (kind, pattern)
  std::deque<policy::RuleOrigin> origins_;                // stable addresses for Reply::rule
  std::unique_ptr<Overlay> overlay_;
  std::optional<std::uint64_t> prompting_;  // id shown on the terminal
  std::string tty_in_;
  bool warned_no_frontend_ = false;
};

}  // namespace guardian::session
