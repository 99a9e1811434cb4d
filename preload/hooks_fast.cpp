// Interposers that exist only in libguardian-preload-fast.so: opendir (decided in-process
// like open), realpath, sigaltstack and the mkstemp family. (The fstat family is in hooks_fstat.cpp, in both
// shims.)
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

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

// The mkstemp family: glibc's makes its open() inside libc, where no interposer sees it,
// so every temporary file (gcc's .s, sed -i, sort) was a round trip to the supervisor.
// The same algorithm here (six characters of [A-Za-z0-9] for the Xs, O_CREAT|O_EXCL, mode
// 0600, a new name on EEXIST), each try made through our own open(), which the fast path
// decides (or, when it cannot, the supervisor, with the call site as for any open).
namespace {

constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

int make_temp(char* tmpl, int suffixlen, int flags) {
  const std::size_t len = tmpl ? std::strlen(tmpl) : 0;
  if (suffixlen < 0 || len < 6 + static_cast<std::size_t>(suffixlen) ||
      std::memcmp(tmpl + len - 6 - suffixlen, "XXXXXX", 6) != 0) {
    errno = EINVAL;
    return -1;
  }
  char* xs = tmpl + len - 6 - suffixlen;
  const int saved = errno;
  static std::uint64_t counter;  // mixed in when getrandom cannot be had
  // glibc's bound on tries (62^3), reached only when that many names are taken.
  for (int attempt = 0; attempt < 62 * 62 * 62; ++attempt) {
    unsigned char rnd[6];
    if (syscall(SYS_getrandom, rnd, sizeof rnd, 0x0001 /* GRND_NONBLOCK */) != static_cast<long>(sizeof rnd)) {
      struct timespec ts {};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      std::uint64_t v = static_cast<std::uint64_t>(ts.tv_nsec) ^ (static_cast<std::uint64_t>(getpid()) << 20) ^
                        (__atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED));
      for (auto& b : rnd) {
        b = static_cast<unsigned char>(v);
        v = (v >> 8) | (v << 56);
      }
    }
    for (int i = 0; i < 6; ++i) xs[i] = kLetters[rnd[i] % 62];
    int fd = open(tmpl, (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR);
    if (fd >= 0) {
      errno = saved;
      return fd;
    }
    if (errno != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

}  // namespace

GUARDIAN_EXPORT int mkstemp(char* tmpl) { return make_temp(tmpl, 0, 0); }
GUARDIAN_EXPORT int mkstemp64(char* tmpl) { return make_temp(tmpl, 0, 0); }
GUARDIAN_EXPORT int mkstemps(char* tmpl, int suffixlen) { return make_temp(tmpl, suffixlen, 0); }
GUARDIAN_EXPORT int mkstemps64(char* tmpl, int suffixlen) { return make_temp(tmpl, suffixlen, 0); }
GUARDIAN_EXPORT int mkostemp(char* tmpl, int flags) { return make_temp(tmpl, 0, flags); }
GUARDIAN_EXPORT int mkostemp64(char* tmpl, int flags) { return make_temp(tmpl, 0, flags); }
GUARDIAN_EXPORT int mkostemps(char* tmpl, int suffixlen, int flags) { return make_temp(tmpl, suffixlen, flags); }
GUARDIAN_EXPORT int mkostemps64(char* tmpl, int suffixlen, int flags) {
  return make_temp(tmpl, suffixlen, flags);
}
