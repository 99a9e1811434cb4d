// SessionControl: wires the session room's parts — limits, cgroup, whole-tree lifetime and
// human approval — into a Supervisor, so run_session stays a short list of steps.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "audit/log.hpp"
#include "base/result.hpp"
#include "policy/engine.hpp"
#include "policy/profile.hpp"
#include "session/ask.hpp"
#include "session/limits.hpp"
#include "session/options.hpp"

namespace guardian::session {

class Supervisor;

class SessionControl {
 public:
  // Merges the profile's limits with the options, makes the cgroup (or falls back), and
  // opens the ask front end when asking is on (profile on_deny: ask, --ask, --ask-socket).
  // Errors (bad values, an unusable socket) are guardian failures: the caller exits 125.
  // `add_rule` applies an "always" answer for the rest of the session (Engine::add_rule);
  // empty: "always" answers are only saved.
  using AddRule = std::function<void(const std::string& kind, const std::string& pattern)>;
  static Result<std::unique_ptr<SessionControl>> create(const RunOptions& opts,
                                                        const policy::Profile* profile,
                                                        AddRule add_rule);
  ~SessionControl();

  // The Asker for HandlerOptions::asker, or null when asking is off. Valid from create()
  // on (before attach() opens the front end it denies), so the handler may be built first.
  decode::Asker* asker() noexcept { return asking_ ? &proxy_ : nullptr; }
  // Fields for session_start's `extra` (limits mechanisms, cgroup, ask front end).
  std::map<std::string, std::string> audit_fields() const;
  void set_audit(audit::AuditLog* log);

  // Registers timers and sockets in the supervisor's loop and its hooks (call before run()).
  Result<void> attach(Supervisor& sup);
  // In the parent, before the child execs: moves it into the cgroup and sets its rlimits.
  Result<void> before_exec(pid_t child, bool in_cgroup);
  // The session's cgroup v2 directory, for clone3(CLONE_INTO_CGROUP); -1 without one.
  int cgroup_dir_fd() const noexcept;
  // Guardian got SIGTERM/SIGHUP from a process: end the tree (SIGTERM, grace, SIGKILL).
  void terminate();
  // After Supervisor::run returned the command's exit status: report the limits that ended
  // it, map the status (124 for wall/CPU), and make sure no process of the session is left.
  int finish(int exit_status);

 private:
  SessionControl() = default;
  std::unique_ptr<SessionLimits> limits_;
  std::unique_ptr<AskBroker> ask_;
  // Forwards to ask_ while it exists; denies before attach() and after finish().
  struct Proxy final : decode::Asker {
    AskBroker* target = nullptr;
    Reply consult(const decode::AskQuery& q) override {
      return target ? target->consult(q) : Reply{Answer::deny, nullptr};
    }
  } proxy_;
  AskSettings ask_settings_;
  bool asking_ = false;
  bool terminate_said_ = false;  // timeout(1) signals guardian and then its group: say it once
  AddRule add_rule_;
  Supervisor* sup_ = nullptr;
  int timer_handle_ = -1;
};

}  // namespace guardian::session
