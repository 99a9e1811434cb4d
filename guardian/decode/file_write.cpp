// File decoders for write-class path calls and fd-based metadata writes. Each is decided
// as `write` on the resolved path(s), then performed by the supervisor on the descriptors
// it checked (emulate/), so neither a rewritten path buffer nor a swapped symlink wins.
#include <fcntl.h>
#include <dirent.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <vector>

#include "base/procfs.hpp"
#include "decode/impl.hpp"
#include "emulate/emulate.hpp"
#include "policy/file_ops.hpp"

namespace guardian::decode {

using policy::Op;

namespace {

constexpr int kSetxattrat = 463, kRemovexattrat = 466, kFileSetattr = 469, kFchmodat2 = 452;
constexpr std::size_t kXattrMax = 65536;

struct XattrArgs {  // struct xattr_args (6.13)
  std::uint64_t value;
  std::uint32_t size;
  std::uint32_t flags;
};

// Reads the utime/utimes/utimensat times argument as two timespecs; false = EFAULT/EINVAL.
int read_times(Ctx& c, int nr, std::uint64_t addr, struct timespec ts[2], bool& now) {
  now = addr == 0;
  if (now) return 0;
  if (nr == SYS_utime) {
    struct utimbuf ub {};
    if (!c.t.read(addr, &ub, sizeof ub)) return EFAULT;
    ts[0] = {ub.actime, 0};
    ts[1] = {ub.modtime, 0};
  } else if (nr == SYS_utimes || nr == SYS_futimesat) {
    struct timeval tv[2];
    if (!c.t.read(addr, tv, sizeof tv)) return EFAULT;
    for (int i = 0; i < 2; ++i) {
      if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) return EINVAL;
      ts[i] = {tv[i].tv_sec, tv[i].tv_usec * 1000};
    }
  } else if (!c.t.read(addr, ts, 2 * sizeof(struct timespec))) {
    return EFAULT;
  }
  return 0;
}

// True when directory entry `name` in `dir` is a directory holding any entry but . and ..
// (false when it cannot be read: the caller then keeps its own answer).
bool nonempty_dir(int dir, const std::string& name) {
  int fd = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return false;
  }
  bool found = false;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

// What the kernel answers a rename of entry `a` to entry `b` (both resolved, parents held)
// for a reason of its own, before it moves anything or looks at a permission: EXDEV across
// mounts, EEXIST (RENAME_NOREPLACE onto a name that exists), ENOENT (RENAME_EXCHANGE with
// nothing to exchange), EINVAL (a directory into itself), ENOTDIR or EISDIR (a directory
// onto a file or the reverse), ENOTEMPTY (onto a directory that holds entries); -1 when both
// names are one object (the kernel does nothing and returns 0); 0 when it would go ahead.
// Order as in do_renameat2 and vfs_rename.
int native_rename_failure(const Resolved& a, const Resolved& b, unsigned fl) {
  struct statx ma {}, mb {};
  if (::statx(a.parent.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &ma) == 0 &&
      ::statx(b.parent.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &mb) == 0 && (ma.stx_mask & STATX_MNT_ID) &&
      (mb.stx_mask & STATX_MNT_ID) && ma.stx_mnt_id != mb.stx_mnt_id)
    return EXDEV;
  struct stat os {}, ns {};
  if (::fstatat(a.parent.get(), a.name.c_str(), &os, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  const bool target = ::fstatat(b.parent.get(), b.name.c_str(), &ns, AT_SYMLINK_NOFOLLOW) == 0;
  if ((fl & RENAME_NOREPLACE) && target) return EEXIST;
  if ((fl & RENAME_EXCHANGE) && !target) return ENOENT;
  if (S_ISDIR(os.st_mode) && b.path.size() > a.path.size() && b.path.compare(0, a.path.size(), a.path) == 0 &&
      b.path[a.path.size()] == '/')
    return EINVAL;
  if (!target) return 0;
  if (os.st_dev == ns.st_dev && os.st_ino == ns.st_ino) return -1;
  if (fl & RENAME_EXCHANGE) return 0;
  if (S_ISDIR(os.st_mode) && !S_ISDIR(ns.st_mode)) return ENOTDIR;
  if (!S_ISDIR(os.st_mode) && S_ISDIR(ns.st_mode)) return EISDIR;
  if (S_ISDIR(ns.st_mode) && nonempty_dir(b.parent.get(), b.name)) return ENOTEMPTY;
  return 0;
}

}  // namespace

// Inside a repository, the object acted on through descriptor `fd` is kept in r.target
// for the new-repository exception (in_new_repository looks at its birth time).
static void keep_repository_object(int fd, Resolved& r) {
  if (r.path.find("/.git/") != std::string::npos) r.target.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

// A directory entry `r` (parent + name) that is a `.git` directory older than the session,
// or holds one at any depth, where default's repository guard applies (its .git/config
// would be guarded there). Repositories the session made move freely. Fails closed: an
// unreadable or very large tree counts as holding one.
bool Handler::Impl::holds_repository(Ctx& c, const Resolved& r) {
  policy::Request probe;
  probe.category = policy::Category::file;
  probe.op = Op::write;
  probe.pid = c.tgid;
  const std::string probe_path = r.path + "/.git/config";  // Request::path is a view
  probe.path = probe_path;
  policy::Decision g = d->decide(probe);
  if (g.verdict == policy::Verdict::allow || !g.rule || !policy::repository_guard(*g.rule)) return false;
  if (r.name == ".git" || r.name == ".git/") {
    UniqueFd self(::openat(r.parent.get(), ".git", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    return !self || !born_in_session(self.get());
  }
  // Inside a repository (.git/worktrees, .git/modules...): a directory older than the
  // session stays where it is. A linked worktree's directory made in the session is spared
  // the guard (in_new_repository); moving an older one aside would let a new one take its
  // name, and the user's worktree would take its config and hooks from there.
  if (r.path.find("/.git/") != std::string::npos) {
    std::string name = r.name;
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    UniqueFd self(::openat(r.parent.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!self || !born_in_session(self.get())) return true;
  }
  int top = ::openat(r.parent.get(), r.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0) return true;
  std::vector<int> todo{top};
  std::size_t seen = 0;
  bool found = false;
  while (!todo.empty()) {
    int fd = todo.back();
    todo.pop_back();
    DIR* dir = found ? nullptr : ::fdopendir(fd);
    if (!dir) {
      ::close(fd);
      continue;
    }
    while (dirent* e = ::readdir(dir)) {
      if (++seen > 100000 || todo.size() > 4096) {
        found = true;
        break;
      }
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (std::strcmp(e->d_name, ".git") == 0) {
        UniqueFd git(::openat(::dirfd(dir), ".git", O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!git || !born_in_session(git.get())) {
          found = true;
          break;
        }
      }
      int sub = ::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) todo.push_back(sub);
    }
    ::closedir(dir);
  }
  for (int fd : todo) ::close(fd);
  return found;
}

// link(2) across mounts fails with EXDEV before the kernel looks at any permission: the
// mount of the old name (not followed unless AT_SYMLINK_FOLLOW: /proc/self/fd/N is then the
// link in procfs itself) against the new name's directory. A program that tries the hard
// link first and copies on EXDEV (cp --link fallbacks, Python's shutil helpers, package
// managers linking from a cache) then copies, as natively, where a denial of the old name
// stopped it. Answered here only where the process may look at both names anyway: EXDEV
// tells that the old one exists and where the mounts part, which a stat of each tells too.
// True: `out` holds EXDEV (undecided: nothing was linked or looked into).
bool Handler::Impl::cross_mount_link(Ctx& c, int olddir, std::uint64_t oldpath,
                                     const ResolveOpts& oo, int newdir, std::uint64_t newpath,
                                     Response& out) {
  std::string from, to;
  Response ignored;
  if (!read_path(c, oldpath, from, ignored, oo.empty_path) || !read_path(c, newpath, to, ignored) ||
      !valid(c, ignored))
    return false;
  ResolveOpts fo = oo;
  fo.need_parent = false;
  ResolveOpts eo;
  eo.follow = false;
  eo.need_parent = true;
  Resolved a, b;
  if (!resolver.resolve(c.n.tid, c.tgid, olddir, from, fo, a) || a.err || !a.exists || !a.target ||
      !resolver.resolve(c.n.tid, c.tgid, newdir, to, eo, b) || b.err || !b.parent)
    return false;
  struct statx sa {}, sb {};
  if (::statx(a.target.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sa) != 0 ||
      ::statx(b.parent.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &sb) != 0 ||
      !(sa.stx_mask & STATX_MNT_ID) || !(sb.stx_mask & STATX_MNT_ID) || sa.stx_mnt_id == sb.stx_mnt_id)
    return false;
  // The system's /dev/stdin, /dev/stdout, /dev/stderr and /dev/fd links say only where they
  // point, which every process knows (as file_open.cpp lets them be looked at).
  auto std_link = [](const Resolved& r) {
    return !r.magic && (r.path == "/dev/stdin" || r.path == "/dev/stdout" || r.path == "/dev/stderr" ||
                        r.path == "/dev/fd");
  };
  for (const Resolved* r : {&a, &b}) {
    if (r == &a && std_link(a)) continue;
    policy::Request req = path_request(c, policy::Category::file, Op::stat, *r);
    if (d->decide(req).verdict != policy::Verdict::allow) return false;
  }
  out = error(EXDEV);
  return true;
}

// Removing a symbolic link changes where a walk through its name leads: from the link's
// target back to the name itself (a directory or file made there next), which the decision
// of an open let go beside (sole_open) did not look at. Removing anything else, or a
// directory, leaves the name leading where it did: the kernel walks it as written.
void Handler::Impl::settle_if_link(Ctx& c, const Resolved& r) {
  if (!session.walks_pending()) return;
  struct stat st {};
  if (::fstatat(r.parent.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    session.settle_walks(c.n.tid);
}

// A device node's name, mode, owner and attributes are the system's: /dev/null removed
// and made a plain file, or made unreadable, breaks every program of the machine (of the
// container, where sessions run as root). Whatever the profile lets the session write
// (base writes /dev/null, /dev/tty...), removing, renaming, linking, chmod, chown and
// setting or removing attributes of a character or block device are refused (EPERM, as
// natively to anyone but root), like mknod of one. False: refused (`out` says how).
bool Handler::Impl::device_meta_ok(Ctx& c, const struct stat& st, std::string_view path, Response& out) {
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return true;
  policy::Request req;
  req.category = policy::Category::file;
  req.op = Op::write;
  req.pid = c.tgid;
  req.path = path;
  return local(c, req, false, EPERM, path, out);  // complain mode goes on
}

Response Handler::Impl::file_write(Ctx& c) {
  Response out;
  const int nr = c.n.nr;
  ResolveOpts o;
  o.need_parent = true;
  int dirfd = AT_FDCWD;
  std::uint64_t path = c.arg(0);
  Resolved& r = r1;
  // Object operations: the existing object, followed unless told otherwise.
  // `st`: the caller looks at r.st (chmod and xattrs refuse symlinks); the others act on
  // the held object whatever it is, so the resolution need not fstat it.
  auto object = [&](int di, int pi, bool follow, bool empty, bool st) -> bool {
    o.follow = follow;
    o.empty_path = empty;
    o.need_parent = false;
    o.need_stat = st;
    dirfd = di >= 0 ? c.iarg(di) : AT_FDCWD;
    path = c.arg(pi);
    if (!path_decide(c, dirfd, path, o, Op::write, raw1, r, out)) return false;
    if (r.err || !r.exists) {
      out = error(r.err ? r.err : ENOENT);
      return false;
    }
    return true;
  };
  // Name operations: a directory entry, never followed; needs the parent directory.
  auto entry = [&](int di, int pi, std::string& raw, Resolved& res) -> bool {
    ResolveOpts eo;
    eo.follow = false;
    eo.need_parent = true;
    int dfd = di >= 0 ? c.iarg(di) : AT_FDCWD;
    // The quick way first: the parent directory only, when no symlink is on the way (the
    // decision is the one resolve() would make then: the lexical path).
    if (!read_path(c, c.arg(pi), raw, out) || !valid(c, out)) return false;
    if (resolver.quick_entry(c.n.tid, dfd, raw, res))
      return decide_resolved(c, Op::write, raw, res, out);
    if (!path_decide(c, dfd, c.arg(pi), eo, Op::write, raw, res, out)) return false;
    if (res.err) {
      out = error(res.err);
      return false;
    }
    if (!res.parent || res.name.empty()) {
      out = error(EBUSY);
      return false;
    }
    return true;
  };
  // The device-node checks (device_meta_ok) of a decided object or entry.
  auto device_object = [&](const Resolved& res) {
    struct stat st {};
    return ::fstat(res.target.get(), &st) != 0 || device_meta_ok(c, st, res.path, out);
  };
  auto device_entry = [&](const Resolved& res) {
    struct stat st {};
    return ::fstatat(res.parent.get(), res.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
           device_meta_ok(c, st, res.path, out);
  };
  switch (nr) {
    case SYS_truncate:
      if (!object(-1, 0, true, false, false)) return out;
      return value(emulate::truncate_obj(r.target.get(), static_cast<off_t>(c.arg(1))));
    case SYS_mkdir: case SYS_mkdirat: {
      bool at = nr == SYS_mkdirat;
      if (!entry(at ? 0 : -1, at ? 1 : 0, raw1, r)) return out;
      auto mode = static_cast<mode_t>(c.arg(at ? 2 : 1));
      return value(emulate::mkdir_at(r.parent.get(), r.name, mode, umask_of(c)));
    }
    case SYS_mknod: case SYS_mknodat: {
      bool at = nr == SYS_mknodat;
      auto mode = static_cast<mode_t>(c.arg(at ? 2 : 1));
      // A device node is a door to whatever device it names (the raw disk below every
      // file, memory, another terminal), past every path decision: refused whatever the
      // profile lets the session write, as natively to anyone but root (EPERM).
      if (S_ISBLK(mode) || S_ISCHR(mode)) {
        raw1.clear();
        if (c.arg(at ? 1 : 0)) c.t.read_string(c.arg(at ? 1 : 0), raw1, 4095);
        policy::Request req;
        req.category = policy::Category::file;
        req.op = policy::Op::write;
        req.pid = c.tgid;
        req.path = raw1;
        if (!local(c, req, false, EPERM, raw1, out)) return out;  // complain mode goes on
      }
      if (!entry(at ? 0 : -1, at ? 1 : 0, raw1, r)) return out;
      auto dev = static_cast<dev_t>(c.arg(at ? 3 : 2));
      return value(emulate::mknod_at(r.parent.get(), r.name, mode, dev, umask_of(c)));
    }
    case SYS_rmdir:
      if (!entry(-1, 0, raw1, r)) return out;
      return value(emulate::unlink_at(r.parent.get(), r.name, AT_REMOVEDIR));
    case SYS_unlink:
      if (!entry(-1, 0, raw1, r) || !device_entry(r)) return out;
      settle_if_link(c, r);
      return value(emulate::unlink_at(r.parent.get(), r.name, 0));
    case SYS_unlinkat: {
      int fl = c.iarg(2);
      if (fl & ~AT_REMOVEDIR) return error(EINVAL);
      if (!entry(0, 1, raw1, r) || (!(fl & AT_REMOVEDIR) && !device_entry(r))) return out;
      if (!(fl & AT_REMOVEDIR)) settle_if_link(c, r);
      return value(emulate::unlink_at(r.parent.get(), r.name, fl));
    }
    case SYS_rename: case SYS_renameat: case SYS_renameat2: {
      bool at = nr != SYS_rename;
      if (!entry(at ? 0 : -1, at ? 1 : 0, raw1, r1)) return out;
      if (!entry(at ? 2 : -1, at ? 3 : 1, raw2, r2)) return out;
      if (!device_entry(r1) || !device_entry(r2)) return out;  // either end
      unsigned fl = nr == SYS_renameat2 ? static_cast<unsigned>(c.arg(4)) : 0;
      // A directory takes every path below it along: `mv .git g`, write g/hooks/x,
      // `mv g .git` would plant a hook that deny_write protects, and `mv .aws a` would
      // bare a denied secret. Decided here, on the loop that performs every change of
      // names the session makes, so nothing can become a directory between look and act.
      auto is_dir = [](const Resolved& r) {
        struct stat st {};
        return fstatat(r.parent.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      };
      if (is_dir(r1) || ((fl & RENAME_EXCHANGE) && is_dir(r2))) {
        policy::Decision dm = d->decide_move(r1.path, r2.path);
        // The guard of default (guardian:new-repository) spares a repository made in the
        // session: moving an older one aside would free its place for a new one with hooks
        // of its own (git clone of the old one, say) that the user's next git command there
        // runs. A directory holding a repository therefore does not move by rename; mv
        // copies it, and the older repository's hooks and config stay where they were.
        if (dm.verdict == policy::Verdict::allow &&
            (holds_repository(c, r1) || ((fl & RENAME_EXCHANGE) && holds_repository(c, r2)))) {
          dm.verdict = policy::Verdict::deny;
          dm.rule = nullptr;
        }
        if (dm.verdict != policy::Verdict::allow) {
          // Where the kernel would refuse the rename anyway (across mounts, onto a directory
          // that holds entries, NOREPLACE onto a name that exists...), that answer, and no
          // denial: the EXDEV below would make mv(1) or shutil.move copy what natively
          // stays where it is (into a directory that holds files, say). Nothing moves
          // either way, and the session may write both names (entry()), so may know them.
          if (int e = native_rename_failure(r1, r2, fl)) return e > 0 ? error(e) : value(0);
          policy::Request req;
          req.category = policy::Category::file;
          req.op = Op::write;
          req.path = r2.path;
          req.pid = c.tgid;
          // EXDEV, as Landlock answers a rename that would change rights: mv(1),
          // shutil.move and friends then copy and delete, one decided file at a time (a
          // build tree moved from ${CWD} into TMPDIR, where .bashrc is not protected).
          dm.err = EXDEV;
          if (!apply(c, req, dm, raw2, false, out)) return out;
        }
      }
      // A rename, link or symlink can make a name lead elsewhere (a directory or a link put
      // on a path): first every open answered CONTINUE must be done walking (sole_open).
      session.settle_walks(c.n.tid);
      return value(emulate::rename_at(r1.parent.get(), r1.name, r2.parent.get(), r2.name, fl));
    }
    case SYS_link: case SYS_linkat: {
      bool at = nr == SYS_linkat;
      int fl = at ? c.iarg(4) : 0;
      if (fl & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return error(EINVAL);
      ResolveOpts lo;
      lo.follow = fl & AT_SYMLINK_FOLLOW;
      lo.empty_path = fl & AT_EMPTY_PATH;
      lo.need_parent = true;
      std::uint64_t p = c.arg(at ? 1 : 0);
      if (cross_mount_link(c, at ? c.iarg(0) : AT_FDCWD, p, lo, at ? c.iarg(2) : AT_FDCWD,
                           c.arg(at ? 3 : 1), out))
        return out;
      if (!path_decide(c, at ? c.iarg(0) : AT_FDCWD, p, lo, Op::write, raw1, r1, out)) return out;
      if (r1.err || !r1.exists) return error(r1.err ? r1.err : ENOENT);
      bool plain = r1.parent && !r1.name.empty() && r1.name != "." && r1.name != "..";
      // One more name for a device node is a mknod of it.
      if (plain ? !device_entry(r1) : (r1.target && !device_object(r1))) return out;
      if (!entry(at ? 2 : -1, at ? 3 : 1, raw2, r2)) return out;
      session.settle_walks(c.n.tid);  // a link to a symlink is one more (see rename)
      if (plain) return value(emulate::link_at(r1.parent.get(), r1.name, r2.parent.get(), r2.name));
      return value(emulate::link_obj(r1.target.get(), r2.parent.get(), r2.name));
    }
    case SYS_symlink: case SYS_symlinkat: {
      bool at = nr == SYS_symlinkat;
      if (!read_path(c, c.arg(0), raw2, out)) return out;  // the content: not a path we resolve
      std::string content = raw2;
      if (!entry(at ? 1 : -1, at ? 2 : 1, raw1, r)) return out;
      session.settle_walks(c.n.tid);  // see rename
      return value(emulate::symlink_at(content, r.parent.get(), r.name));
    }
    case SYS_chmod: case SYS_fchmodat: case kFchmodat2: {
      bool at = nr != SYS_chmod;
      int fl = nr == kFchmodat2 ? c.iarg(3) : 0;
      if (!object(at ? 0 : -1, at ? 1 : 0, !(fl & AT_SYMLINK_NOFOLLOW), fl & AT_EMPTY_PATH, true)) return out;
      if (!device_object(r)) return out;
      if (S_ISLNK(r.st.st_mode)) return error(EOPNOTSUPP);  // symlinks have no mode to change
      return value(emulate::chmod_obj(r.target.get(), static_cast<mode_t>(c.arg(at ? 2 : 1))));
    }
    case SYS_chown: case SYS_lchown: case SYS_fchownat: {
      bool at = nr == SYS_fchownat;
      int fl = at ? c.iarg(4) : 0;
      bool follow = nr == SYS_chown || (at && !(fl & AT_SYMLINK_NOFOLLOW));
      if (!object(at ? 0 : -1, at ? 1 : 0, follow, fl & AT_EMPTY_PATH, false) || !device_object(r)) return out;
      auto uid = static_cast<uid_t>(c.arg(at ? 2 : 1)), gid = static_cast<gid_t>(c.arg(at ? 3 : 2));
      return value(emulate::chown_obj(r.target.get(), uid, gid));
    }
    case SYS_utime: case SYS_utimes: case SYS_futimesat: case SYS_utimensat: {
      bool at = nr == SYS_futimesat || nr == SYS_utimensat;
      int fl = nr == SYS_utimensat ? c.iarg(3) : 0;
      struct timespec ts[2] {};
      bool now = false;
      // utimensat(fd, NULL, ...) is futimens(fd), and futimesat(fd, NULL, ...) futimes(fd)
      // (AT_FDCWD with no path: the kernel's EFAULT): the descriptor's object.
      if (at && c.arg(1) == 0 && c.iarg(0) == AT_FDCWD) return error(EFAULT);
      if (at && c.arg(1) == 0 && fl != 0) return error(EINVAL);  // the kernel's, for a descriptor
      if (at && c.arg(1) == 0) {
        // The kernel reads the times itself when it runs the call.
        if (fd_continue(c, c.iarg(0), out)) return out;
        if (int e = read_times(c, nr, c.arg(2), ts, now)) return error(e);
        auto fd = c.t.take_fd(c.iarg(0));
        if (!fd) return error(EBADF);
        if (!valid(c, out)) return out;
        r.clear();
        if (!resolver.own_fd_object(fd.value().get(), r, false)) return error(EBADF);
        keep_repository_object(fd.value().get(), r);
        r.magic_pid = c.tgid;  // the process holds this object already (as file_fd below)
        r.magic = true;
        if (!decide_resolved(c, Op::write, r.path, r, out)) return out;
        long rc = ::syscall(SYS_utimensat, fd.value().get(), nullptr, now ? nullptr : ts, 0);
        return value(rc < 0 ? -errno : rc);
      }
      if (int e = read_times(c, nr, c.arg(at ? 2 : 1), ts, now)) return error(e);
      if (!object(at ? 0 : -1, at ? 1 : 0, !(fl & AT_SYMLINK_NOFOLLOW), fl & AT_EMPTY_PATH, false)) return out;
      return value(emulate::utimens_obj(r.target.get(), now ? nullptr : ts));
    }
    case SYS_setxattr: case SYS_lsetxattr: case kSetxattrat: {
      bool at = nr == kSetxattrat;
      int atfl = at ? c.iarg(2) : 0;
      std::uint64_t name_addr = c.arg(at ? 3 : 1);
      std::uint64_t val_addr;
      std::size_t size;
      int flags;
      if (at) {
        XattrArgs xa{};
        if (c.arg(5) < sizeof xa) return error(EINVAL);
        if (!c.t.read(c.arg(4), &xa, sizeof xa)) return error(EFAULT);
        val_addr = xa.value;
        size = xa.size;
        flags = static_cast<int>(xa.flags);
      } else {
        val_addr = c.arg(2);
        size = c.arg(3);
        flags = c.iarg(4);
      }
      if (size > kXattrMax) return error(E2BIG);
      std::string name;
      if (!c.t.read_string(name_addr, name, 255)) return error(ERANGE);
      std::vector<char> val(size);
      if (size && !c.t.read(val_addr, val.data(), size)) return error(EFAULT);
      bool follow = nr == SYS_setxattr || (at && !(atfl & AT_SYMLINK_NOFOLLOW));
      if (!object(at ? 0 : -1, at ? 1 : 0, follow, atfl & AT_EMPTY_PATH, true) || !device_object(r)) return out;
      if (S_ISLNK(r.st.st_mode)) return error(EPERM);  // user.* xattrs are refused on symlinks
      return value(emulate::setxattr_obj(r.target.get(), name, val.data(), size, flags));
    }
    case SYS_removexattr: case SYS_lremovexattr: case kRemovexattrat: {
      bool at = nr == kRemovexattrat;
      int atfl = at ? c.iarg(2) : 0;
      std::string name;
      if (!c.t.read_string(c.arg(at ? 3 : 1), name, 255)) return error(ERANGE);
      bool follow = nr == SYS_removexattr || (at && !(atfl & AT_SYMLINK_NOFOLLOW));
      if (!object(at ? 0 : -1, at ? 1 : 0, follow, atfl & AT_EMPTY_PATH, true) || !device_object(r)) return out;
      if (S_ISLNK(r.st.st_mode)) return error(EPERM);
      return value(emulate::removexattr_obj(r.target.get(), name));
    }
    case kFileSetattr: {
      std::size_t size = c.arg(3);
      if (size > 256) return error(E2BIG);
      std::vector<char> attr(size);
      if (size && !c.t.read(c.arg(2), attr.data(), size)) return error(EFAULT);
      int fl = c.iarg(4);
      if (!object(0, 1, !(fl & AT_SYMLINK_NOFOLLOW), fl & AT_EMPTY_PATH, false)) return out;
      return value(emulate::setattr_obj(r.target.get(), attr.data(), size));
    }
  }
  return error(ENOSYS);
}

// fchmod, fchown, fsetxattr, fremovexattr and futimens when no other task can change the
// caller's descriptor `fd` while it waits in this notification
// (SessionView::fd_table_private: one thread, a table shared with no other process). Then
// the descriptor names the same object from our look at /proc/TID/fd/N to the kernel's use
// of it after CONTINUE, and nothing need be done by the supervisor: no pidfd_getfd, no
// call of ours, and the arguments in memory (times, xattr name and value) are the kernel's
// to read. The decision and its record are the emulation's (same path, same request).
// True when it answered (`out`); false: not provably private, emulate.
bool Handler::Impl::fd_continue(Ctx& c, int fd, Response& out) {
  if (!session.fd_table_private(c.n.tid)) return false;
  char rel[24];
  procfs::fd_rel(fd, rel);
  Resolved& r = r1;
  r.clear();
  int err = 0;
  if (!procfs::pid_dirs().readlink(c.n.tid, rel, r.path, err)) {
    out = error(EBADF);  // not an open descriptor (or the thread is gone: nobody hears)
    return true;
  }
  // Inside a repository the emulation decides: the new-repository exception looks at the
  // object's birth time through the descriptor (in_new_repository), which only it holds
  // (mv copying a repository it may not rename sets the copies' times and modes so).
  if (r.path.find("/.git/") != std::string::npos) return false;
  r.exists = true;
  r.lexical = r.path;
  r.magic_pid = c.tgid;  // the process holds this object already
  r.magic = true;
  if (decide_resolved(c, Op::write, r.path, r, out)) out = cont();
  return true;
}

// fchmod, fchown, fsetxattr, fremovexattr, and the chattr ioctls (FS_IOC_SETFLAGS,
// FS_IOC_FSSETXATTR: a file's attributes change through a descriptor opened for reading,
// as by file_setattr; the generation; FS_IOC_ENABLE_VERITY, which makes the file
// immutable): decided as a write by the path the descriptor names, then
// done by the supervisor on its duplicate of that descriptor (pidfd_getfd), so a thread
// that dup2()s another file onto the number after the check changes nothing. (Where no
// thread can, fd_continue lets the kernel do it.)
Response Handler::Impl::file_fd(Ctx& c) {
  Response out;
  const bool meta = c.n.nr == SYS_fchmod || c.n.nr == SYS_fchown || c.n.nr == SYS_fsetxattr ||
                    c.n.nr == SYS_fremovexattr;
  if (meta && session.fd_table_private(c.n.tid)) {  // as fd_continue will find it
    // From the held /proc/TID directory (procfs.hpp says why that is safe against TID
    // reuse): no walk of /proc and of the TID's entry for each call (tar's fchown and
    // fchmod of every file it extracts).
    char rel[24];
    procfs::fd_rel(c.iarg(0), rel);
    struct stat st {};
    int err = 0;
    if (procfs::pid_dirs().stat(c.n.tid, rel, st, err) && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
      char link[64];
      std::snprintf(link, sizeof link, "/proc/%d/%s", c.n.tid, rel);
      if (!device_meta_ok(c, st, link, out)) return out;
    }
  }
  if (fd_continue(c, c.iarg(0), out)) return out;
  std::string name;
  std::vector<char> val;
  const auto cmd = static_cast<std::uint32_t>(c.arg(1));
  // fs-verity's salt and built-in signature, which its argument points to in the tracee.
  std::vector<char> salt, sig;
  if (c.n.nr == SYS_ioctl && cmd == FS_IOC_ENABLE_VERITY) {
    struct fsverity_enable_arg a {};
    if (!c.t.read(c.arg(2), &a, sizeof a)) return error(EFAULT);
    // The kernel's own bounds (FS_VERITY_MAX_SALT_SIZE, FS_VERITY_MAX_SIGNATURE_SIZE).
    if (a.salt_size > 32 || a.sig_size > 16128) return error(EMSGSIZE);
    salt.resize(a.salt_size);
    sig.resize(a.sig_size);
    if ((a.salt_size && !c.t.read(a.salt_ptr, salt.data(), salt.size())) ||
        (a.sig_size && !c.t.read(a.sig_ptr, sig.data(), sig.size())))
      return error(EFAULT);
    a.salt_ptr = a.salt_size ? reinterpret_cast<std::uint64_t>(salt.data()) : 0;
    a.sig_ptr = a.sig_size ? reinterpret_cast<std::uint64_t>(sig.data()) : 0;
    val.resize(sizeof a);
    std::memcpy(val.data(), &a, sizeof a);
  } else if (c.n.nr == SYS_ioctl) {  // chattr: the flags (an int) or a struct fsxattr; a generation (an int)
    val.resize(cmd == FS_IOC_FSSETXATTR ? sizeof(struct fsxattr) : sizeof(int));
    if (!c.t.read(c.arg(2), val.data(), val.size())) return error(EFAULT);
  }
  if (c.n.nr == SYS_fsetxattr || c.n.nr == SYS_fremovexattr) {
    if (!c.t.read_string(c.arg(1), name, 255)) return error(ERANGE);
    if (c.n.nr == SYS_fsetxattr) {
      std::size_t size = c.arg(3);
      if (size > kXattrMax) return error(E2BIG);
      val.resize(size);
      if (size && !c.t.read(c.arg(2), val.data(), size)) return error(EFAULT);
    }
  }
  auto fd = c.t.take_fd(c.iarg(0));
  if (!fd) return error(EBADF);
  // ID_VALID proves that what was read from the tracee's memory (by tid) came from the
  // thread that asked. fchmod and fchown read none: pidfd_getfd goes through a pidfd that
  // names that very thread for good (NotifTracee::take_fd, proven when opened), so it
  // cannot reach a newer process given the same tid, and what is decided below (the path
  // of the descriptor we now hold) is what the operation then acts on.
  if (c.n.nr == SYS_fsetxattr || c.n.nr == SYS_fremovexattr || c.n.nr == SYS_ioctl)
    if (!valid(c, out)) return out;
  int f = fd.value().get();
  Resolved& r = r1;
  r.clear();
  if (!resolver.own_fd_object(f, r, false)) return error(EBADF);  // decided by path only
  keep_repository_object(f, r);
  r.magic_pid = c.tgid;  // the process holds this object already
  r.magic = true;
  if (!decide_resolved(c, Op::write, r.path, r, out)) return out;
  if (meta) {
    struct stat st {};
    if (::fstat(f, &st) == 0 && !device_meta_ok(c, st, r.path, out)) return out;
  }
  long rc = -1;
  switch (c.n.nr) {
    case SYS_fchmod: rc = ::fchmod(f, static_cast<mode_t>(c.arg(1))); break;
    case SYS_fchown: rc = ::fchown(f, static_cast<uid_t>(c.arg(1)), static_cast<gid_t>(c.arg(2))); break;
    case SYS_fsetxattr: rc = ::fsetxattr(f, name.c_str(), val.data(), val.size(), c.iarg(4)); break;
    case SYS_fremovexattr: rc = ::fremovexattr(f, name.c_str()); break;
    case SYS_ioctl: rc = ::ioctl(f, cmd, val.data()); break;
    default: return error(ENOSYS);
  }
  return value(rc < 0 ? -errno : rc);
}

}  // namespace guardian::decode
