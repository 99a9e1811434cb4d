// The fstat family, in both shims: answered with the plain fstat syscall, which the filter
// never notifies (metadata of a descriptor the process already holds), where glibc's own
// fstat is newfstatat(fd, "", AT_EMPTY_PATH), which the filter must notify because it
// cannot see that the path is empty: one round trip to the supervisor saved per fstat
// (a program that opens a file usually fstats it). Results and errno are the same as
// glibc's; nothing is decided here.
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GUARDIAN_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {
int __fxstat(int, int, struct stat*);
int __fxstat64(int, int, struct stat64*);
}

namespace {

// struct stat and struct stat64 are the kernel's struct stat on x86_64.
int plain_fstat(int fd, void* buf) {
  const int saved = errno;
  long r = syscall(SYS_fstat, fd, buf);
  if (r == 0) errno = saved;
  return static_cast<int>(r);
}

// The pre-2.33 entry points take a version: 0 (kernel) and 1 (glibc) are the same layout
// on x86_64; anything else is EINVAL, as glibc answers.
int versioned_fstat(int ver, int fd, void* buf) {
  if (ver != 0 && ver != 1) {
    errno = EINVAL;
    return -1;
  }
  return plain_fstat(fd, buf);
}

}  // namespace

GUARDIAN_EXPORT int fstat(int fd, struct stat* buf) { return plain_fstat(fd, buf); }
GUARDIAN_EXPORT int fstat64(int fd, struct stat64* buf) { return plain_fstat(fd, buf); }
GUARDIAN_EXPORT int __fxstat(int ver, int fd, struct stat* buf) { return versioned_fstat(ver, fd, buf); }
GUARDIAN_EXPORT int __fxstat64(int ver, int fd, struct stat64* buf) {
  return versioned_fstat(ver, fd, buf);
}
