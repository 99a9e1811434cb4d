// System decoder: chdir/fchdir and name_to_handle_at decided like a stat of their target;
// chroot, the mount family, pivot_root and open_by_handle_at refused (EPERM) with a
// decision record; TIOCSTI/TIOCLINUX/TIOCVHANGUP/TIOCSETD/TIOCEXCL ioctls
// refused if the filter sends them here; umask
// let through (noted for the handler's umask cache).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>

#include "decode/impl.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;

Response Handler::Impl::system(Ctx& c) {
  Response out;
  policy::Request req;
  req.category = Category::system;
  req.op = Op::other;
  switch (c.n.nr) {
    case SYS_chdir: {
      ResolveOpts o;
      if (!path_decide(c, AT_FDCWD, c.arg(0), o, Op::stat, raw1, r1, out)) return out;
      if (r1.err) return error(r1.err);
      if (!r1.exists) return error(ENOENT);
      if (!S_ISDIR(r1.st.st_mode)) return error(ENOTDIR);
      return cont();
    }
    case SYS_fchdir: {
      if (!resolver.fd_object(c.n.tid, c.iarg(0), r1)) return cont();  // kernel: EBADF
      r1.magic_pid = c.tgid;
      r1.magic = true;
      if (!decide_resolved(c, Op::stat, r1.path, r1, out)) return out;
      return cont();
    }
    case SYS_name_to_handle_at: {
      // A handle is metadata of a path the process may stat; using it needs
      // open_by_handle_at, which is refused below.
      int fl = c.iarg(4);
      ResolveOpts o;
      o.follow = fl & AT_SYMLINK_FOLLOW;
      o.empty_path = fl & AT_EMPTY_PATH;
      if (!path_decide(c, c.iarg(0), c.arg(1), o, Op::stat, raw1, r1, out)) return out;
      if (r1.err) return error(r1.err);
      if (!r1.exists) return error(ENOENT);
      return cont();
    }
    case SYS_umask:
      // Not a decision (nothing to log): only bookkeeping for umask_of().
      ++umask_gen;
      umask_in_flight.push_back(c.n.tid);
      return cont();
    case 16: {  // ioctl
      // The kernel takes the command as 32 bits.
      const auto cmd = static_cast<std::uint32_t>(c.arg(1));
      if (cmd != TIOCSTI && cmd != TIOCLINUX && cmd != TIOCVHANGUP && cmd != TIOCSETD &&
          cmd != TIOCEXCL)
        return cont();
      req.op = Op::ioctl;
      addr_text = cmd == TIOCSTI     ? "TIOCSTI"
                  : cmd == TIOCLINUX ? "TIOCLINUX"
                  : cmd == TIOCSETD  ? "TIOCSETD"
                  : cmd == TIOCEXCL  ? "TIOCEXCL"
                                     : "TIOCVHANGUP";
      return local(c, req, false, EPERM, addr_text, out) ? cont() : std::move(out);
    }
    default: break;
  }
  // Refused: chroot, pivot_root, mount, umount2, the new mount API, open_by_handle_at.
  // Record the path argument as given when there is one (not resolved: nothing happens).
  int pi = -1;
  switch (c.n.nr) {
    case SYS_chroot: case SYS_pivot_root: case SYS_umount2: pi = 0; break;
    case SYS_mount: pi = 1; break;
    case SYS_open_tree: case SYS_fspick: case SYS_mount_setattr: case 467: pi = 1; break;
    default: break;
  }
  raw1.clear();
  if (pi >= 0 && c.arg(pi)) c.t.read_string(c.arg(pi), raw1, 4095);
  return local(c, req, false, EPERM, raw1, out) ? cont() : std::move(out);
}

}  // namespace guardian::decode
