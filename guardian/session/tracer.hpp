// Process tracking and exec verification through ptrace (events only: no syscall stops, so
// it costs nothing per syscall). Feeds the process table and `process` audit records.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "audit/log.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "session/process_table.hpp"

namespace guardian::session {

class Tracer {
 public:
  // verify(tid, tgid, loaded_exe): Handler::verify_exec; false kills the process.
  using VerifyExec = std::function<bool(pid_t tid, pid_t tgid, const std::string& exe)>;

  Tracer(ProcessTable& table, VerifyExec verify, audit::AuditLog* log)
      : table_(table), verify_(std::move(verify)), log_(log) {}

  // PTRACE_SEIZE the command (our child, before its exec) with every event we follow and
  // EXITKILL, so that the tree dies if the supervisor does.
  Result<void> seize_root(pid_t pid, const std::string& exe);

  // ptrace backend: also stop at the filter's SECCOMP_RET_TRACE (PTRACE_O_TRACESECCOMP) and
  // hand each such stop to `on_seccomp`, which must resume the thread (now or later). Call
  // before seize_root.
  void trace_seccomp(std::function<void(pid_t tid)> on_seccomp) { on_seccomp_ = std::move(on_seccomp); }

  // ptrace backend under another seccomp filter (a nested guardian): that filter's answer
  // (a user notification, say) takes precedence over our SECCOMP_RET_TRACE, so we would
  // never see those calls. Instead stop every call at its entry, before any filter runs
  // (PTRACE_SYSCALL), and hand those marked in `nrs` to on_seccomp. Slower: every system
  // call stops twice. Call before seize_root; `nrs` must outlive the tracer.
  void trace_syscall_entries(const std::vector<bool>* nrs) { entry_stops_ = nrs; }
  bool entry_stops() const { return entry_stops_ != nullptr; }

  // Called when a thread has exited (tid) and when a process got a new memory image or
  // exited (tgid): the ptrace backend's sealed pages go with them.
  std::function<void(pid_t tid)> thread_exited;
  std::function<void(pid_t tgid)> image_gone;
  // Asked at a signal-delivery stop of the command's process (thread `tid`, signal `sig`):
  // false drops the signal (a duplicate, see SignalEcho). Unset: every signal is delivered.
  std::function<bool(pid_t tid, int sig)> deliver;
  // Called at a signal-delivery stop of a signal whose default action dumps core (SIGSEGV,
  // SIGABRT, ...), before the signal is delivered: the last moment to decide where the
  // kernel may write the dump (Supervisor::core_guard).
  std::function<void(pid_t tid)> before_core_signal;

  // Handles one wait status of a traced task (what reap() does for each).
  void dispatch(pid_t pid, int status);

  // Drains waitpid(-1, WNOHANG|__WALL): handles every ptrace stop and exit. Call on SIGCHLD.
  void reap();

  // The command's wait status once it has exited.
  const std::optional<int>& root_status() const { return root_status_; }
  pid_t root() const { return root_; }

  // Waits until none of `tids` (traced threads let go with an open whose path walk must end
  // before a rename: ProcessTable::settle_walks) can still be in that walk: each sleeps in
  // another call, or is stopped with PTRACE_INTERRUPT and waited for. Wait statuses other
  // than that interrupt's are kept for flush_settled.
  void settle(const std::vector<pid_t>& tids);
  // Handles what settle kept (call once the notification being handled is answered).
  void flush_settled();
  bool has_settled() const { return !settled_.empty(); }

  // SIGKILL to every process of the session (their pids are stable: a traced process is
  // not released until we have seen its exit).
  void kill_all();
  // Waits (blocking, at most timeout_ms) until every tracked process is gone.
  bool wait_all_gone(int timeout_ms);

  std::uint64_t execs_killed() const { return execs_killed_; }

  // Hand-over (a session process wants to trace thread `tid`: strace, gdb, a nested
  // guardian): PTRACE_INTERRUPT it and, at its next stop, PTRACE_DETACH it (after any exec
  // check that stop carries). It stays a session process. on_released(tid) is called once
  // it is detached, or gone; released_pidfd(tid) then watches its exit.
  void release(pid_t tid);
  // Traced by us (in the session and not handed over)?
  bool traces(pid_t tid) const { return table_.known(tid) && !released_.count(tid); }
  void on_released(std::function<void(pid_t tid)> cb) { on_released_ = std::move(cb); }
  // A pidfd of a released thread (readable when it exits), or -1.
  int released_pidfd(pid_t tid) const;
  // A released thread exited (its pidfd said so): drop it from the table.
  void forget(pid_t tid);

 private:
  void on_exit(pid_t pid, int status);
  void on_stop(pid_t pid, int status);
  void on_new(pid_t parent, pid_t child, int event);
  void on_exec(pid_t pid);
  void ensure_known(pid_t pid);
  // Resumes from a stop with `sig`, or detaches when the thread is being released.
  void resume(pid_t pid, int sig);
  void cont(pid_t pid, int sig);
  void on_syscall_stop(pid_t pid);
  void detach(pid_t pid, int sig);
  void prune_released();
  void flush_held();
  // Resumes the parent held for vfork child `child` (vfork_held_), if any.
  void release_vfork_parent(pid_t child);
  void record(pid_t pid, pid_t ppid, const char* what, const std::string& exe,
              std::optional<int> status);

  ProcessTable& table_;
  VerifyExec verify_;
  audit::AuditLog* log_;
  pid_t root_ = -1;
  std::optional<int> root_status_;
  std::uint64_t execs_killed_ = 0;
  std::function<void(pid_t)> on_seccomp_;
  std::unordered_set<pid_t> releasing_;             // interrupted, detached at next stop
  std::unordered_map<pid_t, UniqueFd> released_;    // detached: pidfd watching the exit
  std::function<void(pid_t)> on_released_;
  const std::vector<bool>* entry_stops_ = nullptr;
  // TIDs reaped while not in the table (see on_new), and whether some were not remembered.
  static constexpr std::size_t kMaxReapedUnknown = 4096;
  std::unordered_set<pid_t> reaped_unknown_;
  std::unordered_set<pid_t> early_;  // first stop seen, parent's event not yet
  // Early tasks (early_) that exec'd before their parent's event: a vfork parent whose
  // event comes after that must not be held (see on_stop). Bounded like reaped_unknown_.
  std::unordered_set<pid_t> exec_early_;
  // Inside reap(): first stops of unknown tasks wait there for their parent's event.
  bool draining_ = false;
  std::vector<pid_t> held_;
  bool reaped_overflow_ = false;
  // vfork child -> its parent, kept in its vfork event stop until the child execs, exits,
  // makes a task of its own or is handed over. The kernel would hold that parent in vfork()
  // until then anyway; resumed at its event it woke only to sleep again, on the CPU the
  // child needs.
  std::unordered_map<pid_t, pid_t> vfork_held_;
  std::vector<std::pair<pid_t, int>> settled_;  // see settle
};

// /proc/PID/exe resolved, or "" if unreadable.
std::string read_exe(pid_t pid);

}  // namespace guardian::session
