// The fast path's libc-level calls built on FastPath::open (fopen, opendir) and fstat, kept
// apart from the core (fastpath.cpp): what they add is stdio and dirent bookkeeping, done
// exactly as glibc's own fopen and opendir would on the descriptor.
#undef _FILE_OFFSET_BITS
#include "fastpath.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace guardian::preload {

bool FastPath::fopen(const char* raw, const char* mode, FILE** out) {
  // Only the plain modes fopen and fdopen agree on; ",ccs=" and the rest: the real fopen.
  if (!engine_ || !raw || !mode) return false;
  int flags;
  switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return false;
  }
  bool plus = false;
  for (int i = 1; mode[i]; ++i) {
    if (i > 4) return false;  // fdopen reads no further
    switch (mode[i]) {
      case '+': plus = true; break;
      case 'x': flags |= O_EXCL; break;
      case 'e': flags |= O_CLOEXEC; break;
      case 'b': case 'm': case 'c': break;
      default: return false;
    }
  }
  if (plus) flags = (flags & ~O_ACCMODE) | O_RDWR;
  int fd;
  if (!open(AT_FDCWD, raw, flags, 0666, &fd)) return false;
  if (fd < 0) {
    *out = nullptr;
    return true;
  }
  const int saved = errno;
  // fopen("a") starts at the end of the file (ftell says so); "a+" does not.
  if (mode[0] == 'a' && !plus) lseek(fd, 0, SEEK_END);
  FILE* f = fdopen(fd, mode);
  if (!f) {
    const int e = errno;
    syscall(SYS_close, fd);
    errno = e;
  } else {
    errno = saved;
  }
  *out = f;
  return true;
}

bool FastPath::opendir(const char* raw, DIR** out) {
  int fd;
  if (!open(AT_FDCWD, raw, O_RDONLY | O_NDELAY | O_DIRECTORY | O_CLOEXEC, 0, &fd)) return false;
  if (fd < 0) {
    *out = nullptr;
    return true;
  }
  DIR* d = fdopendir(fd);
  if (!d) {
    const int e = errno;
    syscall(SYS_close, fd);
    errno = e;
  }
  *out = d;
  return true;
}

bool FastPath::fstat(int fd, struct stat* buf, int* rc) {
  if (!engine_) return false;
  const int saved = errno;
  long r = syscall(SYS_fstat, fd, buf);
  if (r == 0) errno = saved;
  *rc = static_cast<int>(r);
  return true;
}

}  // namespace guardian::preload
