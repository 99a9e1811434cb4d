// Process tracking and exec verification through ptrace (events only: no syscall stops, so
// it costs nothing per syscall). Feeds the process table and `process` audit records.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "audit/log.hpp"
#include "base/result.hpp"
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

  // Drains waitpid(-1, WNOHANG|__WALL): handles every ptrace stop and exit. Call on SIGCHLD.
  void reap();

  // The command's wait status once it has exited.
  const std::optional<int>& root_status() const { return root_status_; }
  pid_t root() const { return root_; }

  // SIGKILL to every process of the session (their pids are stable: a traced process is
  // not released until we have seen its exit).
  void kill_all();
  // Waits (blocking, at most timeout_ms) until every tracked process is gone.
  bool wait_all_gone(int timeout_ms);

  std::uint64_t execs_killed() const { return execs_killed_; }

 private:
  void on_exit(pid_t pid, int status);
  void on_stop(pid_t pid, int status);
  void on_new(pid_t parent, pid_t child, int event);
  void on_exec(pid_t pid);
  void ensure_known(pid_t pid);
  void record(pid_t pid, pid_t ppid, const char* what, const std::string& exe,
              std::optional<int> status);

  ProcessTable& table_;
  VerifyExec verify_;
  audit::AuditLog* log_;
  pid_t root_ = -1;
  std::optional<int> root_status_;
  std::uint64_t execs_killed_ = 0;
  std::function<void(pid_t)> on_seccomp_;
};

// /proc/PID/exe resolved, or "" if unreadable.
std::string read_exe(pid_t pid);

}  // namespace guardian::session
