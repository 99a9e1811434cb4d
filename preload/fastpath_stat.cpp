// The fast path's stat family and access (see fastpath.hpp): decided in-process, answered
// by one statx (and a faccessat2 for access) when no symbolic link lies before the last
// component of a normalised path (fastpath_dirs.hpp), else through an O_PATH descriptor of
// what the path names, as the supervisor would resolve it.
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <string.h>
#include <unistd.h>

#include "fastpath.hpp"
#include "fastpath_dirs.hpp"
#include "fastpath_impl.hpp"
#include "policy/request.hpp"

#ifndef AT_STATX_SYNC_TYPE
#define AT_STATX_SYNC_TYPE 0x6000
#endif

namespace guardian::preload {

using policy::Op;

namespace {

// struct stat as newfstatat fills it, from the same inode attributes as statx reports them
// (the kernel's cp_new_stat and cp_statx copy one kstat; padding zeroed as it does).
void to_stat(const struct statx& sx, struct stat* st) {
  memset(st, 0, sizeof *st);
  st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st->st_ino = sx.stx_ino;
  st->st_nlink = sx.stx_nlink;
  st->st_mode = sx.stx_mode;
  st->st_uid = sx.stx_uid;
  st->st_gid = sx.stx_gid;
  st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  st->st_size = static_cast<off_t>(sx.stx_size);
  st->st_blksize = sx.stx_blksize;
  st->st_blocks = static_cast<blkcnt_t>(sx.stx_blocks);
  st->st_atim.tv_sec = sx.stx_atime.tv_sec;
  st->st_atim.tv_nsec = sx.stx_atime.tv_nsec;
  st->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
  st->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
  st->st_ctim.tv_sec = sx.stx_ctime.tv_sec;
  st->st_ctim.tv_nsec = sx.stx_ctime.tv_nsec;
}

// The last component is a symbolic link that the call follows (or its type is unknown):
// then what it names is the link's target, to be decided by its real path.
bool follows_link(const struct statx& sx, int atflags) {
  return !(atflags & AT_SYMLINK_NOFOLLOW) && (!(sx.stx_mask & STATX_TYPE) || S_ISLNK(sx.stx_mode));
}

}  // namespace

bool FastPath::plain_parent(const Path& p) const {
  // Normalised as given: no ".", ".." nor "//" for the kernel to walk differently.
  if (p.norm.data() != p.abs || p.norm.size() != p.abs_len) return false;
  const std::size_t slash = p.norm.rfind('/');
  if (slash == std::string_view::npos) return false;
  return fastpath::plain_dir(ring_, slash == 0 ? std::string_view("/") : p.norm.substr(0, slash), token_);
}

// fstatat(fd, "", AT_EMPTY_PATH) and statx(fd, "", AT_EMPTY_PATH) are metadata of a
// descriptor the process holds: the supervisor lets them through undecided, so do we,
// without the round trip. AT_FDCWD names the cwd: a path decision, the supervisor's.
bool empty_path_of_fd(int dirfd, const char* raw, int atflags) {
  return (atflags & AT_EMPTY_PATH) && raw && raw[0] == '\0' && dirfd >= 0;
}

// The O_PATH descriptor a stat-family call of p (already decided on its written path,
// claim c) is answered from; a symbolic link on the way gets the object it leads to,
// decided again by its real path. Returns the descriptor, -errno for an error the program
// gets (recorded), or kFallBack (nothing recorded): the supervisor's.
long FastPath::opath_of(const Path& p, int nr, bool nofollow, Claim& c) {
  long fd = open_path(p, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0);
  if (fd >= 0) return fd;
  const int e = errno;
  if (e == ELOOP) {
    finish(c, false);
    char real[kMax];
    std::size_t real_len = 0;
    fd = follow_path(p.abs, nofollow, real, &real_len);
    if (fd == kMissing && missing_name(p, static_cast<int>(Op::stat), nr, c)) {
      finish(c, true);
      return -ENOENT;
    }
    if (fd < 0) return kFallBack;
    if (!decide(static_cast<int>(Op::stat), nr, std::string_view(p.raw, p.raw_len),
                std::string_view(real, real_len), p.pid, c, p.norm)) {
      syscall(SYS_close, fd);
      return kFallBack;
    }
    return fd;
  }
  finish(c, !fall_back_on(e));
  return fall_back_on(e) ? kFallBack : -e;
}

template <class Query, class Direct>
bool FastPath::stat_by_opath(int dirfd, const char* raw, int nr, int atflags, int* rc,
                             Query query, Direct direct) {
  const int saved = errno;
  Path p;
  Claim c;
  if (!prepare(dirfd, raw, static_cast<int>(Op::stat), nr, p, c)) {
    if (refuse_missing(p, static_cast<int>(Op::stat), nr, c)) {  // a PATH probe, denied
      *rc = -1;
      errno = c.err;
      return true;
    }
    errno = saved;
    return false;
  }
  if (plain_parent(p)) {
    // The path is walked as written and nothing but its last component can be a link:
    // the object decided is the one the kernel answers about, in one call.
    const long r = direct(p.abs);
    if (r != kFallBack && !(r < 0 && fall_back_on(errno))) {
      const int e = errno;
      finish(c, true);
      *rc = static_cast<int>(r);
      errno = r < 0 ? e : saved;
      return true;
    }
  }
  long fd = opath_of(p, nr, atflags & AT_SYMLINK_NOFOLLOW, c);
  if (fd == kFallBack) {
    errno = saved;
    return false;
  }
  if (fd < 0) {
    *rc = -1;
    errno = static_cast<int>(-fd);
    return true;
  }
  long r = query(fd);
  const int e = errno;
  syscall(SYS_close, fd);
  finish(c, true);
  *rc = static_cast<int>(r);
  errno = r < 0 ? e : saved;
  return true;
}

bool FastPath::stat(int dirfd, const char* raw, struct stat* buf, int atflags, int* rc) {
  if (engine_ && buf && empty_path_of_fd(dirfd, raw, atflags)) return fstat(dirfd, buf, rc);
  if (metadata_open_ || !buf || (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))) return false;
  const std::uint64_t token = token_;
  return stat_by_opath(
      dirfd, raw, SYS_newfstatat, atflags, rc, [buf](long fd) { return syscall(SYS_fstat, fd, buf); },
      [=](const char* path) {
        struct statx sx;
        long r = syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | (atflags & AT_NO_AUTOMOUNT),
                         STATX_BASIC_STATS, &sx, token);
        if (r != 0) return r;
        if (follows_link(sx, atflags)) return kFallBack;
        to_stat(sx, buf);
        return 0L;
      });
}

bool FastPath::statx(int dirfd, const char* raw, int atflags, unsigned mask, struct statx* buf,
                     int* rc) {
  if (engine_ && !metadata_open_ && buf && empty_path_of_fd(dirfd, raw, atflags)) {
    const int saved = errno;
    long r = syscall(SYS_statx, dirfd, "", atflags, mask, buf, token_);
    if (r == 0) errno = saved;
    *rc = static_cast<int>(r);
    return true;
  }
  if (metadata_open_ || !buf ||
      (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)))
    return false;
  const std::uint64_t token = token_;
  return stat_by_opath(
      dirfd, raw, SYS_statx, atflags, rc,
      [=](long fd) {
        return syscall(SYS_statx, fd, "", AT_EMPTY_PATH | (atflags & (AT_STATX_SYNC_TYPE | AT_NO_AUTOMOUNT)),
                       mask, buf, token);
      },
      [=](const char* path) {
        long r = syscall(SYS_statx, AT_FDCWD, path,
                         AT_SYMLINK_NOFOLLOW | (atflags & (AT_STATX_SYNC_TYPE | AT_NO_AUTOMOUNT)), mask, buf,
                         token);
        if (r != 0) return r;
        return follows_link(*buf, atflags) ? kFallBack : 0L;
      });
}

bool FastPath::access(int dirfd, const char* raw, int mode, int atflags, int nr, int* rc) {
  if (metadata_open_ || (mode & ~7) || (atflags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW))) return false;
  const std::uint64_t token = token_;
  return stat_by_opath(
      dirfd, raw, nr, atflags, rc,
      [=](long fd) {
        return syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH | (atflags & AT_EACCESS), 0, token);
      },
      [=](const char* path) {
        // The last component's type first: a link access() follows is decided by its target.
        if (!(atflags & AT_SYMLINK_NOFOLLOW)) {
          struct statx sx;
          long r = syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx, token);
          if (r != 0) return r;
          if (follows_link(sx, atflags)) return kFallBack;
        }
        return syscall(SYS_faccessat2, AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW | (atflags & AT_EACCESS), 0,
                       token);
      });
}

}  // namespace guardian::preload
