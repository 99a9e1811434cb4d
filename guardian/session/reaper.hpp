// Process-tree lifetime without a cgroup: guardian becomes a child subreaper so that
// double-forked daemons and setsid escapees are re-parented to it, and can then be found
// (by walking /proc parent links down from guardian) and killed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <vector>

namespace guardian::session {

// prctl(PR_SET_CHILD_SUBREAPER): orphans of the session become guardian's children.
// Call before launching the command. Returns false on failure (errno set).
bool enable_subreaper() noexcept;

// Whether the calling process has any child (or tracee) left, in whatever state.
bool has_children() noexcept;

// Every live (non-zombie) process whose parent chain leads to `ancestor`.
std::vector<pid_t> descendants(pid_t ancestor);

// Whether this process has any live descendant. Cheap when it has no child at all (one
// waitid, not a read of the whole of /proc); otherwise as descendants(getpid()).
bool have_descendants();

// Sends `sig` to every descendant of `ancestor`; returns how many were signalled.
int signal_descendants(pid_t ancestor, int sig);

// Starts a keeper: a process outside the session (a sibling of guardian, in a session of
// its own, holding no descriptor but two) that writes cgroup.kill of the group
// `cgroup_dir_fd` when guardian ends, however it ends. Processes handed over to a tracer of
// the session (strace, gdb) are no longer guardian's tracees, so PTRACE_O_EXITKILL does not
// end them if guardian is SIGKILLed. Returns the pipe end guardian keeps (its closing wakes
// the keeper), or -1 with errno set.
int start_keeper(int cgroup_dir_fd) noexcept;

// SIGKILLs the descendants of `ancestor` until none is alive or `timeout` passes
// (repeating, since a process may fork between the scan and the kill). True when none left.
bool kill_descendants(pid_t ancestor, std::chrono::milliseconds timeout);

}  // namespace guardian::session
