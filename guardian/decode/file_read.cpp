// Read-class path calls that return data into tracee memory: xattr reads are performed by
// the supervisor on the object it decided, inotify watches are decided and run by the kernel.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "decode/impl.hpp"
#include "emulate/emulate.hpp"

namespace guardian::decode {

using policy::Op;

namespace {

constexpr std::size_t kXattrSizeMax = 65536;  // XATTR_SIZE_MAX and XATTR_LIST_MAX
constexpr std::size_t kXattrNameMax = 255;    // XATTR_NAME_MAX

// The attributes that say who may do what with a file (POSIX and NFSv4 ACLs, the SELinux
// label, file capabilities): permissions, as st_mode and st_uid are, not contents. ls -l
// asks for them on every name it lists (the '+' and '.' after the mode), `..` included,
// which is an ancestor that may only be stat'ed: read-class, that was "ls: ..: Permission
// denied" and a summary line where the native ls -la says nothing. Decided as `stat`.
bool is_permission_attr(const std::string& name) {
  return name == "system.posix_acl_access" || name == "system.posix_acl_default" ||
         name == "system.nfs4_acl" || name == "security.selinux" || name == "security.capability";
}

// getxattrat's struct xattr_args (Linux 6.13), defined here for the 6.1 headers.
struct XattrArgs {
  std::uint64_t value;
  std::uint32_t size;
  std::uint32_t flags;
};

}  // namespace

// getxattr, lgetxattr, getxattrat, listxattr, llistxattr, listxattrat: decided as `read`,
// then performed here on the O_PATH descriptor of what was decided (through its
// /proc/self/fd link, which names that very inode, a symlink included) and the result
// written into the tracee's buffer. Let through to the kernel, a thread rewriting the path
// between the check and the kernel's own read of it got a denied file's attribute values.
// inotify_add_watch is decided and run by the kernel: a racing thread could at most
// watch another directory's events (names and times, never contents; guardian(1)).
Response Handler::Impl::file_read(Ctx& c) {
  int dirfd = AT_FDCWD;
  std::uint64_t path = c.arg(0);
  bool follow = true, empty = false, list = false;
  std::uint64_t name = 0, buf = 0, size = 0;
  switch (c.n.nr) {
    case SYS_getxattr: case SYS_lgetxattr:
      follow = c.n.nr == SYS_getxattr;
      name = c.arg(1), buf = c.arg(2), size = c.arg(3);
      break;
    case SYS_listxattr: case SYS_llistxattr:
      follow = c.n.nr == SYS_listxattr;
      list = true, buf = c.arg(1), size = c.arg(2);
      break;
    case SYS_inotify_add_watch:
      path = c.arg(1);
      follow = !(c.arg(2) & IN_DONT_FOLLOW);
      break;
    case 464: case 465:  // getxattrat, listxattrat
      dirfd = c.iarg(0);
      path = c.arg(1);
      follow = !(c.arg(2) & AT_SYMLINK_NOFOLLOW);
      empty = c.arg(2) & AT_EMPTY_PATH;
      if (c.arg(2) & ~static_cast<std::uint64_t>(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return error(EINVAL);
      if (c.n.nr == 465) {
        list = true, buf = c.arg(3), size = c.arg(4);
      } else {
        name = c.arg(3);
        XattrArgs xa{};
        if (c.arg(5) < sizeof xa) return error(EINVAL);
        if (!c.t.read(c.arg(4), &xa, sizeof xa)) return error(EFAULT);
        if (xa.flags) return error(EINVAL);
        buf = xa.value, size = xa.size;
      }
      break;
    default: return error(ENOSYS);
  }
  Response out;
  // The name first: it decides the class (is_permission_attr). Copied once, so what is
  // decided is what is read, whatever a thread writes there afterwards.
  std::string attr;
  const bool xattr_get = !list && c.n.nr != SYS_inotify_add_watch;
  if (xattr_get) {
    if (!c.t.read_string(name, attr, kXattrNameMax)) return error(attr.size() > kXattrNameMax ? ERANGE : EFAULT);
    if (attr.empty()) return error(ERANGE);
  }
  ResolveOpts o;
  o.follow = follow;
  o.empty_path = empty;
  o.need_stat = false;
  Resolved& r = r1;
  const Op op = xattr_get && is_permission_attr(attr) ? Op::stat : Op::read;
  if (!path_decide(c, dirfd, path, o, op, raw1, r, out)) return out;
  if (r.err) return error(r.err);
  if (!r.exists) return error(ENOENT);
  if (c.n.nr == SYS_inotify_add_watch) return cont();
  if (!r.target) return error(EACCES);  // nothing pinned to read from: fail closed
  if (size > kXattrSizeMax) size = kXattrSizeMax;
  std::vector<char> data(size);
  const std::string at = emulate::self_fd(r.target.get());
  ssize_t n = list ? ::listxattr(at.c_str(), size ? data.data() : nullptr, size)
                   : ::getxattr(at.c_str(), attr.c_str(), size ? data.data() : nullptr, size);
  if (n < 0) return error(errno);
  if (!valid(c, out)) return out;  // about to write its memory: still that thread's call
  if (size && n > 0 && !c.t.write(buf, data.data(), static_cast<std::size_t>(n))) return error(EFAULT);
  return value(n);
}

}  // namespace guardian::decode
