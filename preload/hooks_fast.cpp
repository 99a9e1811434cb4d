// Interposers that exist only in libguardian-preload-fast.so: opendir (decided in-process
// like open), realpath and sigaltstack. (The fstat family is in hooks_fstat.cpp, in both
// shims.)
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fastpath.hpp"
#include "shim.hpp"

using guardian::preload::g_fast;
using guardian::preload::g_shim;

#define GUARDIAN_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {
char* __realpath_chk(const char*, char*, size_t);
}

// Only watched: a handler running on a small signal stack must not get the fast path's
// 20 KiB of buffers. Raw sigaltstack syscalls are not seen (Go's runtime): their handlers
// do not call libc's file functions.
GUARDIAN_EXPORT int sigaltstack(const stack_t* ss, stack_t* old) {
  if (ss && !(ss->ss_flags & SS_DISABLE)) __atomic_store_n(&guardian::preload::g_altstack_seen, true, __ATOMIC_RELAXED);
  long r = syscall(SYS_sigaltstack, ss, old);
  return static_cast<int>(r);
}

// realpath walks the path with glibc's internal readlink, one notified call per component
// (a C compiler canonicalises every header directory this way): done here, symbolic links
// expanded as glibc expands them, when every step is allowed and succeeds.
GUARDIAN_EXPORT char* realpath(const char* path, char* resolved) {
  char* out;
  if (g_fast.realpath(path, resolved, &out)) return out;
  if (!g_shim.real().realpath) {
    errno = ENOSYS;
    return nullptr;
  }
  return g_shim.real().realpath(path, resolved);
}

GUARDIAN_EXPORT char* canonicalize_file_name(const char* path) { return realpath(path, nullptr); }

// _FORTIFY_SOURCE's realpath: a buffer shorter than PATH_MAX is glibc's to refuse.
GUARDIAN_EXPORT char* __realpath_chk(const char* path, char* resolved, size_t resolvedlen) {
  char* out;
  if (resolvedlen >= PATH_MAX && g_fast.realpath(path, resolved, &out)) return out;
  if (!g_shim.real().realpath_chk) {
    errno = ENOSYS;
    return nullptr;
  }
  return g_shim.real().realpath_chk(path, resolved, resolvedlen);
}

GUARDIAN_EXPORT DIR* opendir(const char* path) {
  DIR* d;
  if (g_fast.opendir(path, &d)) return d;
  if (!g_shim.real().opendir) {
    errno = ENOSYS;
    return nullptr;
  }
  return g_shim.real().opendir(path);
}
