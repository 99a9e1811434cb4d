// Starting the supervised command: fork, child-side steps that are async-signal-safe only
// (no_new_privs, Landlock, install the ready filter with a listener), hand-off of the listener.
#pragma once

#include <linux/filter.h>
#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace guardian::launch {

struct LaunchSpec {
  std::string path;               // the resolved executable (already checked: exists, executable)
  std::vector<std::string> argv;  // argv[0] as the user wrote it
  std::vector<std::string> envp;  // already filtered by the profile
  const struct sock_fprog* filter = nullptr;  // built by seccomp::build_filter
  // false (ptrace backend): install the filter without a user-notify listener; its stops
  // go to the tracer that seizes the child in BeforeExec. Launched::listener stays empty.
  bool listener = true;
  // A Landlock ruleset (landlock room); applied in the child after no_new_privs when >= 0.
  int landlock_ruleset_fd = -1;
  // Extra fds the child keeps open (e.g. a preload shim's channel); every other fd >= 3 is
  // closed at exec.
  std::vector<int> keep_fds;
  // Signal mask the command starts with (the supervisor blocks signals for its signalfd).
  sigset_t sigmask{};
  // SIGPIPE was ignored when guardian started: the command inherits that, as natively
  // (guardian itself ignores it while supervising).
  bool sigpipe_ignored = false;
  // A cgroup v2 directory to start the child in (clone3 CLONE_INTO_CGROUP) when >= 0: no
  // migration afterwards, whose write to cgroup.procs waits for an RCU grace period
  // (10-20 ms here). Falls back to fork when the kernel refuses; Launched::in_cgroup says.
  int cgroup_fd = -1;
};

struct Launched {
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd listener;
  bool wait_killable = true;  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV was accepted
  bool in_cgroup = false;     // started in LaunchSpec::cgroup_fd's group
};

// Called in the parent once the listener has been taken and before the child is allowed to
// exec (e.g. to PTRACE_SEIZE it). A failure aborts the launch (the child is killed).
using BeforeExec = std::function<Result<void>(Launched&)>;

// Forks the child and hands over its listener. On failure the child is killed and reaped.
// The child's execve is itself a notification on the listener: the caller must be serving
// the listener before it can complete.
Result<Launched> launch(const LaunchSpec& spec, const BeforeExec& before_exec);

// Can this process's children get a seccomp user-notify listener? 0 if so, else the errno
// (EBUSY under a supervisor that refuses nested listeners, e.g. another guardian). Under no
// filter, asks the kernel whether it has user notifications; else a vfork child installs
// an allow-all filter with a listener. Used by --backend auto.
int probe_user_notify();

}  // namespace guardian::launch
