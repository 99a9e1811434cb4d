// Interposers for the file families (open, stat, access and their 64-bit, _chk and
// pre-2.33 __xstat variants). Each one calls the real function, and only when it failed
// hands the errno, the family and the path to the shim; errno is preserved exactly.
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restart.hpp"
#include "shim.hpp"

#ifdef GUARDIAN_FAST_PATH
#include <sys/syscall.h>

#include "fastpath.hpp"
// libguardian-preload-fast.so: decide in-process first; the ordinary call when it declines.
#define FAST(...)                                          \
  do {                                                     \
    int fast_rc_;                                          \
    if (guardian::preload::g_fast.__VA_ARGS__) return fast_rc_; \
  } while (0)
#define FAST_FILE(...)                                      \
  do {                                                      \
    FILE* fast_f_;                                          \
    if (guardian::preload::g_fast.__VA_ARGS__) return fast_f_; \
  } while (0)
#else
#define FAST(...) do {} while (0)
#define FAST_FILE(...) do {} while (0)
#endif

using guardian::preload::g_shim;
using guardian::preload::restart_eintr;
using guardian::preload::restart_open;

#define GUARDIAN_EXPORT extern "C" __attribute__((visibility("default")))
// The hook's own return address: the program's call site, known without unwinding.
#define CALLER __builtin_return_address(0)

// Not declared by glibc's headers (fortify-only or compat-only entry points).
extern "C" {
int __open_2(const char*, int);
int __open64_2(const char*, int);
int __openat_2(int, const char*, int);
int __openat64_2(int, const char*, int);
int __xstat(int, const char*, struct stat*);
int __xstat64(int, const char*, struct stat64*);
int __lxstat(int, const char*, struct stat*);
int __lxstat64(int, const char*, struct stat64*);
int __fxstatat(int, int, const char*, struct stat*, int);
int __fxstatat64(int, int, const char*, struct stat64*, int);
}

namespace {

// O_TMPFILE contains O_DIRECTORY's bit: test it as a whole.
bool wants_mode(int flags) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

// The common tail of every int-returning hook: report a failure, keep errno as it was.
inline int after(void* caller, int rc, gshim_family fam, const char* func, const char* path) {
  if (rc < 0) {
    const int e = errno;
    g_shim.failed(e, fam, func, path, caller);
    errno = e;
  }
  return rc;
}

inline FILE* after(void* caller, FILE* f, const char* func, const char* path) {
  if (!f) {
    const int e = errno;
    g_shim.failed(e, GSHIM_FAM_OPEN, func, path, caller);
    errno = e;
  }
  return f;
}

// A missing real symbol (an unusual libc) fails like the kernel would for an unknown call.
#define REAL_OR_ENOSYS(fn, ...)                      \
  do {                                               \
    if (!g_shim.real().fn) {                         \
      errno = ENOSYS;                                \
      return __VA_ARGS__;                            \
    }                                                \
  } while (0)

}  // namespace

GUARDIAN_EXPORT int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (wants_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  FAST(open(AT_FDCWD, path, flags, mode, &fast_rc_));
  REAL_OR_ENOSYS(open, -1);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().open(path, flags, mode); }), GSHIM_FAM_OPEN, "open", path);
}

GUARDIAN_EXPORT int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (wants_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  FAST(open(AT_FDCWD, path, flags, mode, &fast_rc_));
  REAL_OR_ENOSYS(open64, -1);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().open64(path, flags, mode); }), GSHIM_FAM_OPEN, "open64", path);
}

GUARDIAN_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (wants_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  FAST(open(dirfd, path, flags, mode, &fast_rc_));
  REAL_OR_ENOSYS(openat, -1);
  return after(CALLER, restart_open(dirfd, path, [&] { return g_shim.real().openat(dirfd, path, flags, mode); }), GSHIM_FAM_OPEN, "openat", path);
}

GUARDIAN_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (wants_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  FAST(open(dirfd, path, flags, mode, &fast_rc_));
  REAL_OR_ENOSYS(openat64, -1);
  return after(CALLER, restart_open(dirfd, path, [&] { return g_shim.real().openat64(dirfd, path, flags, mode); }), GSHIM_FAM_OPEN, "openat64",
               path);
}

GUARDIAN_EXPORT int creat(const char* path, mode_t mode) {
  FAST(open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, &fast_rc_));
  REAL_OR_ENOSYS(creat, -1);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().creat(path, mode); }), GSHIM_FAM_OPEN, "creat", path);
}

GUARDIAN_EXPORT int creat64(const char* path, mode_t mode) {
  FAST(open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, &fast_rc_));
  REAL_OR_ENOSYS(creat64, -1);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().creat64(path, mode); }), GSHIM_FAM_OPEN, "creat64", path);
}

GUARDIAN_EXPORT int __open_2(const char* path, int flags) {
  FAST(open(AT_FDCWD, path, flags, 0, &fast_rc_));
  REAL_OR_ENOSYS(open_2, -1);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().open_2(path, flags); }), GSHIM_FAM_OPEN, "__open_2", path);
}

GUARDIAN_EXPORT int __open64_2(const char* path, int flags) {
  FAST(open(AT_FDCWD, path, flags, 0, &fast_rc_));
  REAL_OR_ENOSYS(open64_2, -1);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().open64_2(path, flags); }), GSHIM_FAM_OPEN, "__open64_2", path);
}

GUARDIAN_EXPORT int __openat_2(int dirfd, const char* path, int flags) {
  FAST(open(dirfd, path, flags, 0, &fast_rc_));
  REAL_OR_ENOSYS(openat_2, -1);
  return after(CALLER, restart_open(dirfd, path, [&] { return g_shim.real().openat_2(dirfd, path, flags); }), GSHIM_FAM_OPEN, "__openat_2", path);
}

GUARDIAN_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  FAST(open(dirfd, path, flags, 0, &fast_rc_));
  REAL_OR_ENOSYS(openat64_2, -1);
  return after(CALLER, restart_open(dirfd, path, [&] { return g_shim.real().openat64_2(dirfd, path, flags); }), GSHIM_FAM_OPEN, "__openat64_2",
               path);
}

GUARDIAN_EXPORT FILE* fopen(const char* path, const char* mode) {
  FAST_FILE(fopen(path, mode, &fast_f_));
  REAL_OR_ENOSYS(fopen, nullptr);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().fopen(path, mode); }), "fopen", path);
}

GUARDIAN_EXPORT FILE* fopen64(const char* path, const char* mode) {
  FAST_FILE(fopen(path, mode, &fast_f_));
  REAL_OR_ENOSYS(fopen64, nullptr);
  return after(CALLER, restart_open(AT_FDCWD, path, [&] { return g_shim.real().fopen64(path, mode); }), "fopen64", path);
}

GUARDIAN_EXPORT FILE* freopen(const char* path, const char* mode, FILE* stream) {
  REAL_OR_ENOSYS(freopen, nullptr);
  return after(CALLER, g_shim.real().freopen(path, mode, stream), "freopen", path);
}

GUARDIAN_EXPORT FILE* freopen64(const char* path, const char* mode, FILE* stream) {
  REAL_OR_ENOSYS(freopen64, nullptr);
  return after(CALLER, g_shim.real().freopen64(path, mode, stream), "freopen64", path);
}

GUARDIAN_EXPORT int stat(const char* path, struct stat* buf) {
  FAST(stat(AT_FDCWD, path, buf, 0, &fast_rc_));
  REAL_OR_ENOSYS(stat, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().stat(path, buf); }), GSHIM_FAM_STAT, "stat", path);
}

GUARDIAN_EXPORT int stat64(const char* path, struct stat64* buf) {
  FAST(stat(AT_FDCWD, path, reinterpret_cast<struct stat*>(buf), 0, &fast_rc_));
  REAL_OR_ENOSYS(stat64, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().stat64(path, buf); }), GSHIM_FAM_STAT, "stat64", path);
}

GUARDIAN_EXPORT int lstat(const char* path, struct stat* buf) {
  FAST(stat(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW, &fast_rc_));
  REAL_OR_ENOSYS(lstat, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().lstat(path, buf); }), GSHIM_FAM_STAT, "lstat", path);
}

GUARDIAN_EXPORT int lstat64(const char* path, struct stat64* buf) {
  FAST(stat(AT_FDCWD, path, reinterpret_cast<struct stat*>(buf), AT_SYMLINK_NOFOLLOW, &fast_rc_));
  REAL_OR_ENOSYS(lstat64, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().lstat64(path, buf); }), GSHIM_FAM_STAT, "lstat64", path);
}

GUARDIAN_EXPORT int fstatat(int dirfd, const char* path, struct stat* buf, int flags) {
  FAST(stat(dirfd, path, buf, flags, &fast_rc_));
  REAL_OR_ENOSYS(fstatat, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().fstatat(dirfd, path, buf, flags); }), GSHIM_FAM_STAT, "fstatat", path);
}

GUARDIAN_EXPORT int fstatat64(int dirfd, const char* path, struct stat64* buf, int flags) {
  FAST(stat(dirfd, path, reinterpret_cast<struct stat*>(buf), flags, &fast_rc_));
  REAL_OR_ENOSYS(fstatat64, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().fstatat64(dirfd, path, buf, flags); }), GSHIM_FAM_STAT, "fstatat64",
               path);
}

GUARDIAN_EXPORT int __xstat(int ver, const char* path, struct stat* buf) {
  if (ver == 0 || ver == 1) FAST(stat(AT_FDCWD, path, buf, 0, &fast_rc_));
  REAL_OR_ENOSYS(xstat, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().xstat(ver, path, buf); }), GSHIM_FAM_STAT, "__xstat", path);
}

GUARDIAN_EXPORT int __xstat64(int ver, const char* path, struct stat64* buf) {
  if (ver == 0 || ver == 1) FAST(stat(AT_FDCWD, path, reinterpret_cast<struct stat*>(buf), 0, &fast_rc_));
  REAL_OR_ENOSYS(xstat64, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().xstat64(ver, path, buf); }), GSHIM_FAM_STAT, "__xstat64", path);
}

GUARDIAN_EXPORT int __lxstat(int ver, const char* path, struct stat* buf) {
  if (ver == 0 || ver == 1) FAST(stat(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW, &fast_rc_));
  REAL_OR_ENOSYS(lxstat, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().lxstat(ver, path, buf); }), GSHIM_FAM_STAT, "__lxstat", path);
}

GUARDIAN_EXPORT int __lxstat64(int ver, const char* path, struct stat64* buf) {
  if (ver == 0 || ver == 1) FAST(stat(AT_FDCWD, path, reinterpret_cast<struct stat*>(buf), AT_SYMLINK_NOFOLLOW, &fast_rc_));
  REAL_OR_ENOSYS(lxstat64, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().lxstat64(ver, path, buf); }), GSHIM_FAM_STAT, "__lxstat64", path);
}

GUARDIAN_EXPORT int __fxstatat(int ver, int dirfd, const char* path, struct stat* buf, int flags) {
  if (ver == 0 || ver == 1) FAST(stat(dirfd, path, buf, flags, &fast_rc_));
  REAL_OR_ENOSYS(fxstatat, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().fxstatat(ver, dirfd, path, buf, flags); }), GSHIM_FAM_STAT,
               "__fxstatat", path);
}

GUARDIAN_EXPORT int __fxstatat64(int ver, int dirfd, const char* path, struct stat64* buf,
                                 int flags) {
  if (ver == 0 || ver == 1) FAST(stat(dirfd, path, reinterpret_cast<struct stat*>(buf), flags, &fast_rc_));
  REAL_OR_ENOSYS(fxstatat64, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().fxstatat64(ver, dirfd, path, buf, flags); }), GSHIM_FAM_STAT,
               "__fxstatat64", path);
}

GUARDIAN_EXPORT int statx(int dirfd, const char* path, int flags, unsigned int mask,
                          struct statx* buf) {
  FAST(statx(dirfd, path, flags, mask, buf, &fast_rc_));
  REAL_OR_ENOSYS(statx, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().statx(dirfd, path, flags, mask, buf); }), GSHIM_FAM_STAT, "statx",
               path);
}

GUARDIAN_EXPORT int access(const char* path, int mode) {
  FAST(access(AT_FDCWD, path, mode, 0, SYS_access, &fast_rc_));
  REAL_OR_ENOSYS(access, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().access(path, mode); }), GSHIM_FAM_ACCESS, "access", path);
}

GUARDIAN_EXPORT int faccessat(int dirfd, const char* path, int mode, int flags) {
  FAST(access(dirfd, path, mode, flags, SYS_faccessat2, &fast_rc_));
  REAL_OR_ENOSYS(faccessat, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().faccessat(dirfd, path, mode, flags); }), GSHIM_FAM_ACCESS, "faccessat",
               path);
}

GUARDIAN_EXPORT int euidaccess(const char* path, int mode) {
  FAST(access(AT_FDCWD, path, mode, AT_EACCESS, SYS_faccessat2, &fast_rc_));
  REAL_OR_ENOSYS(euidaccess, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().euidaccess(path, mode); }), GSHIM_FAM_ACCESS, "euidaccess", path);
}

GUARDIAN_EXPORT int eaccess(const char* path, int mode) {
  FAST(access(AT_FDCWD, path, mode, AT_EACCESS, SYS_faccessat2, &fast_rc_));
  REAL_OR_ENOSYS(eaccess, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().eaccess(path, mode); }), GSHIM_FAM_ACCESS, "eaccess", path);
}
