// The supervisor: launches the command with the ready filter, then serves its listener,
// its ptrace events and our signals from one poll loop until the command exits, and leaves
// no process of the session alive.
#pragma once

#include <sys/signalfd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/log.hpp"
#include "session/recv_kick.hpp"
#include "base/result.hpp"
#include "launch/launch.hpp"
#include "seccomp/unotify.hpp"
#include "session/decider.hpp"
#include "session/event_loop.hpp"
#include "session/process_table.hpp"
#include "session/ptrace_scratch.hpp"
#include "session/signal_echo.hpp"
#include "session/tracer.hpp"
#include "session/waiter.hpp"

namespace guardian::session {

struct SupervisorStats {
  std::uint64_t notifications = 0;
  std::uint64_t gone = 0;  // answered after the thread was interrupted or died (ENOENT)
};

class Supervisor {
 public:
  Supervisor(Decider& decider, audit::AuditLog* log);
  ~Supervisor();

  // The loop, for rooms that add fds (timerfds of limits, ask sockets) before run().
  EventLoop& loop() { return loop_; }
  ProcessTable& table() { return table_; }
  // Called once the command is running (pid, pidfd): e.g. to start limit timers.
  std::function<void(pid_t pid, int pidfd)> on_started;
  // Session room: called in the parent before the child execs (joins the cgroup, sets its
  // rlimits). `in_cgroup`: it was started in the cgroup of LaunchSpec::cgroup_fd already.
  // A failure aborts the launch.
  std::function<Result<void>(pid_t pid, bool in_cgroup)> before_exec;
  // Session room: SIGTERM sent to guardian by a process (SIGHUP is forwarded). Set, it replaces the plain
  // forward to the command (it ends the whole tree: SIGTERM, grace period, SIGKILL).
  std::function<void(int sig)> on_terminate;
  // Session room: the command exited while other processes of the session still run (a
  // daemon it started). Asks them to end and returns the seconds they get to do so, still
  // supervised (a daemon flushing its data on SIGTERM), before the tree is killed; unset or
  // 0: killed at once.
  std::function<double()> on_command_exit;
  // Before a traced task gets a signal that may dump core (Tracer::before_core_signal).
  std::function<void(pid_t tid)> core_guard;

  // ptrace backend (call before run()): the filter was built with SECCOMP_RET_TRACE; no
  // listener is installed and each stop is decided from the tracer's waitpid handling.
  void use_ptrace();
  // ptrace backend under another seccomp filter: decide the calls marked in `nrs` at their
  // syscall-entry stop instead (Tracer::trace_syscall_entries). Call after use_ptrace().
  void use_entry_stops(std::vector<bool> nrs);

  // Whether a session process may become the tracer of another (strace, gdb, a nested
  // guardian): we then stop tracing that one, so its execs are no longer verified at
  // PTRACE_EVENT_EXEC and must be held by something else (the Landlock envelope's execute
  // rights). `why_not` is the reason printed when refused.
  void allow_trace_handover(bool ok, std::string why_not) {
    handover_ok_ = ok;
    handover_refusal_ = std::move(why_not);
  }
  // The session's cgroup v2 directory: at the first hand-over a keeper (start_keeper) is
  // started, which ends the group if guardian dies; a hand-over is refused when it cannot
  // be started. -1 (the default): no keeper.
  void keep_with_cgroup(int cgroup_dir_fd) { keeper_cgroup_ = cgroup_dir_fd; }
  // Run once at the first hand-over: a non-empty answer (why the Landlock envelope would not
  // hold a traced process's execs as our check does) refuses every hand-over.
  void check_trace_handover(std::function<std::string()> gap) { handover_gap_ = std::move(gap); }

  // Launches and supervises. Returns the command's wait status (as from waitpid).
  Result<int> run(launch::LaunchSpec spec);

  // Ends the session early (limits, ask): SIGKILL to the whole tree; run() then returns the
  // command's status (killed).
  void kill_session();
  // A deferred notification (Response::Kind::defer, held for a human) is decided again:
  // the Asker calls this when the answer is in; handle() is called with the same
  // Notification. Unknown or no-longer-pending keys are ignored.
  void redecide(std::uint64_t key);
  // Forwards a signal to the command (its pidfd).
  void signal_command(int sig);

  const SupervisorStats& stats() const { return stats_; }

  // Where emulations on blocking sockets wait (decode::HandlerOptions::blocker).
  decode::Blocker* blocker() { return waiter_.get(); }

 private:
  void on_listener(short revents);
  // Whether the loop goes on: until the command exits, then while what it left running has
  // its grace period (on_command_exit).
  bool serving();
  // Serves what a RECV produced (a notification, nothing, or a dead listener).
  void serve(seccomp::RecvStatus st, decode::Notification& n);
  void on_signal();
  void on_one_signal(const struct signalfd_siginfo& si);
  void apply(const decode::Notification& n, decode::Response& r);
  void answer(const decode::Notification& n, decode::Response& r);  // apply's answer alone
  void on_trace_stop(pid_t tid);
  void hand_over(const decode::Notification& n, pid_t target);
  // Whether a hand-over may happen now (checks the Landlock gap and starts the keeper once);
  // when not, says why on stderr once, naming `what` the caller asked for.
  bool handover_allowed(pid_t caller, const std::string& what);
  // clone(CLONE_UNTRACED) by a session process (seccomp backend): see filter.cpp.
  void untraced_clone(const decode::Notification& n);
  void on_released(pid_t tid);
  // The seccomp Tracee for notification n (with a kept memory descriptor where that is safe).
  seccomp::NotifTracee notif_tracee(const decode::Notification& n) const;

  Decider& decider_;
  audit::AuditLog* log_;
  EventLoop loop_;
  ProcessTable table_;
  Tracer tracer_;
  ScratchPages scratch_;
  std::unique_ptr<seccomp::Listener> listener_;
  UniqueFd pidfd_;
  UniqueFd sigfd_;
  int listener_handle_ = -1;
  bool listener_open_ = false;   // registered in loop_ (not removed on POLLHUP/closed)
  unsigned long listener_calls_ = 0;
  RecvKick kick_;
  SupervisorStats stats_;
  std::unordered_map<std::uint64_t, decode::Notification> deferred_;
  bool ptrace_ = false;
  std::uint64_t next_stop_id_ = 1;  // ptrace stops' keys (for defer / ask)
  std::vector<bool> entry_nrs_;
  bool handover_ok_ = false;
  std::string handover_refusal_;
  bool handover_refused_said_ = false;
  std::function<std::string()> handover_gap_;
  int keeper_cgroup_ = -1;
  // The grace period after the command exited: its end (CLOCK_MONOTONIC ns), and a timerfd
  // that wakes the loop then.
  std::optional<std::int64_t> linger_end_;
  UniqueFd linger_timer_;
  int linger_handle_ = -1;
  UniqueFd keeper_;  // the keeper's pipe: closed when we end, however we end
  // Hand-overs in progress: the thread being released -> notifications waiting for it.
  std::unordered_multimap<pid_t, std::uint64_t> waiting_release_;
  SignalEcho echo_{::getpid()};  // pairs forwarded signals with the group's copies
  std::unique_ptr<Waiter> waiter_;  // last: its workers use the members above
};

// The signals the supervisor receives through its signalfd (blocked while it runs).
void supervisor_signals(sigset_t& set);
// Blocks them in the calling thread, remembering the mask from before the first call (the
// command starts with that one). Call before creating any thread (the audit writer...):
// a thread that leaves SIGCHLD unblocked would take it, and the signalfd would miss the
// ptrace events.
void block_supervisor_signals();

}  // namespace guardian::session
