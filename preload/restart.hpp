// Calls the kernel fails with EINTR only because guardian intercepts them are made again.
//
// Why: a signal whose handler lacks SA_RESTART, arriving after the kernel queued a seccomp
// user notification but before the supervisor received it, fails the intercepted call with
// EINTR (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV covers only the time after receipt). The call
// did not run; natively it would have run, after the handler. exec, the stat and access
// families never fail with EINTR natively, so they go round again; an open goes round again
// unless its target is a FIFO, device or socket, whose open can genuinely be interrupted.
// Raw syscalls and static binaries do not pass here (guardian(1), BUGS).
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace guardian::preload {

// A bound, in case a profile's deny_errno is EINTR: then the failure is the answer.
inline constexpr int kMaxRestarts = 1000;

inline bool failed(int rc) { return rc < 0; }
inline bool failed(FILE* f) { return f == nullptr; }

// Calls `call` (a negative int or null on failure) again while it fails with EINTR.
template <class Call>
inline auto restart_eintr(Call call) {
  auto rc = call();
  for (int i = 0; failed(rc) && errno == EINTR && i < kMaxRestarts; ++i) rc = call();
  return rc;
}

// Whether opening dirfd/path could natively block and so be interrupted (FIFO, device,
// socket). errno is kept as it was.
inline bool open_may_block(int dirfd, const char* path) {
  const int saved = errno;
  struct stat st;
  const bool blocks = ::syscall(SYS_newfstatat, dirfd, path, &st, 0) == 0 &&
                      !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
  errno = saved;
  return blocks;
}

// restart_eintr for opens: stops at an EINTR that may be genuine.
template <class Call>
inline auto restart_open(int dirfd, const char* path, Call call) {
  auto rc = call();
  for (int i = 0; failed(rc) && errno == EINTR && i < kMaxRestarts && !open_may_block(dirfd, path); ++i)
    rc = call();
  return rc;
}

}  // namespace guardian::preload
