// `guardian run --fast-path` on the supervisor's side (issue 8): the session token, the
// memfds the shims use (the profile snapshot, sealed read-only, the decision ring, and the
// engine image the first shim writes), the
// environment that names them, and FastPathLog, which drains the ring into the audit log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "audit/log.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "policy/engine.hpp"

namespace guardian::context {

// The session's shared state for the shim's fast path.
class FastPathSession {
 public:
  // Snapshots `engine`'s profile (every rule, including --allow-* and the shim's own
  // library) into a sealed memfd with a fresh random token, and creates the ring.
  // `record`: decisions are written somewhere (an audit destination), so the shim records
  // its allows; without one it records nothing (nothing would be written anyway).
  // `deny`: enforce mode, on_deny errno and nobody asked: the shim may decide (and record)
  // the denial of a name that does not exist, as the supervisor would (GFAST_P_DENY).
  static Result<FastPathSession> prepare(const policy::Engine& engine, bool record,
                                         bool deny = false);

  // The supervisor is about to let syscall `nr` of the session proceed: for those that
  // change what a relative path names (chdir, fchdir, chroot, rename...), invalidate the
  // current directory the shims cache. Cheap; called for every notification.
  void before_syscall(int nr) noexcept;

  // The token for seccomp::FilterOptions::fast_path_token (never 0).
  std::uint64_t token() const { return token_; }
  // Sets GUARDIAN_FAST=PFD:RFD:IFD in `envp` ("NAME=VALUE" entries).
  void inject_env(std::vector<std::string>& envp) const;
  // The descriptors the command inherits (launch::LaunchSpec::keep_fds).
  std::vector<int> child_fds() const { return {profile_fd_.get(), ring_fd_.get(), image_fd_.get()}; }
  // Wraps `log` in a FastPathLog that drains the ring (through a mapping of its own); when
  // the shims record nothing (no audit destination, no denials of theirs), returns `log`.
  std::unique_ptr<audit::AuditLog> wrap(std::unique_ptr<audit::AuditLog> log);

  // The engine the supervisor must decide with under --fast-path: built from the same rule
  // lists, in the same order, as the shim's, so both report the same rule for a decision.
  static std::unique_ptr<policy::Engine> canonical(const policy::Engine& engine);

  FastPathSession(FastPathSession&&) noexcept;
  FastPathSession& operator=(FastPathSession&&) noexcept;
  ~FastPathSession();

 private:
  FastPathSession() = default;
  UniqueFd profile_fd_, ring_fd_;
  UniqueFd image_fd_;  // the engine image the first shim writes (fastpath_protocol.h)
  std::uint64_t token_ = 0;
  std::string snapshot_;
  void* ring_ = nullptr;  // our mapping of the ring (read-write)
  bool record_ = false;   // the shims record their allows (an audit destination)
  bool deny_ = false;     // the shims record the denials they make (GFAST_P_DENY)
  // ${CWD} and ${HOME} of the session: the snapshot carries no variables, yet a tip names
  // paths below them as the supervisor's tips do (${CWD}/..., ~/...).
  std::map<std::string, std::string> tip_vars_;
};

// An AuditLog decorator that turns the shim's ring records into ordinary decision records
// (`via: "preload"`) on their way to `inner`. A thread drains the ring every few
// milliseconds while records come, and sleeps on the ring's doorbell (drain_asleep) once
// it stays empty, until a shim publishes the next one; process records and the session's
// end drain it first, so a process's fast-path decisions come before its exec or exit and
// none is left behind.
class FastPathLog final : public audit::AuditLog {
 public:
  // `ring`: the mapped ring (GFAST_RING_BYTES); `snapshot`: the engine snapshot the shim
  // built its engine from (to turn rule ids back into rules).
  // `tip_vars`: the session's CWD and HOME, so that tips read as the supervisor's do.
  FastPathLog(std::unique_ptr<audit::AuditLog> inner, void* ring, const std::string& snapshot,
              std::map<std::string, std::string> tip_vars = {});
  ~FastPathLog() override;

  void session_start(const audit::SessionStart& s) override;
  void decision(const audit::DecisionRecord& r) override;
  // Forwarded: the supervisor counts unrecorded allows through these (session_end counts).
  bool records_allows() const override { return inner_->records_allows(); }
  void count_allow() override { inner_->count_allow(); }
  void process(const audit::ProcessRecord& p) override;
  void limit(const audit::LimitRecord& l) override;
  void session_end(const audit::SessionEnd& e) override;
  void flush() override;
  std::string denial_summary() const override;
  std::string session_id() const override { return inner_->session_id(); }
  std::string error() const override { return inner_->error(); }

  // Drains what is in the ring now (tests; the thread does it on its own). `final`: every
  // process is gone, so slots still claimed will never be published.
  void drain(bool final = false);
  std::uint64_t drained() const { return drained_; }

 private:
  struct Proc {
    pid_t ppid = 0;
    std::string exe;
  };
  void drain_locked(bool final);
  void run();
  const Proc& proc_of(pid_t pid);

  std::unique_ptr<audit::AuditLog> inner_;
  void* ring_;
  std::string snapshot_;                    // until mirror_ is built from it
  std::map<std::string, std::string> tip_vars_;
  std::unique_ptr<policy::Engine> mirror_;  // numbers rules exactly as the shim does
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::uint64_t tail_ = 0;
  std::uint64_t busy_pos_ = ~0ull;  // the position last found claimed but unpublished
  std::chrono::steady_clock::time_point busy_since_;
  std::uint64_t drained_ = 0;
  std::unordered_map<pid_t, Proc> procs_;
  audit::DecisionRecord rec_;  // reused
  std::thread thread_;
};

}  // namespace guardian::context
