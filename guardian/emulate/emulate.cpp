// The operations the supervisor performs for a tracee, each with why it is safe.
// Common ground: every path-taking call here works from a descriptor the decoder opened
// with O_PATH while resolving (the object itself, or its parent directory) plus, at most,
// one final component that is never followed. A tracee that swaps a symlink or rewrites
// its path buffer after the check therefore changes nothing: the object decided is the
// object used. The supervisor runs with the tracee's uid (guardian needs no privilege),
// so the kernel's own permission checks still apply as they would to the tracee.
#include "emulate/emulate.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <mutex>
#include <cstdint>
#include <cstdio>
#include <system_error>
#include <thread>

#include "base/procfs.hpp"

namespace guardian::emulate {
namespace {

long ret(long rc) { return rc < 0 ? -errno : rc; }

// The umask the supervisor process runs under between emulated creations; -1: its own,
// not yet changed. Only the supervisor's loop thread creates files for tracees.
int g_umask_set = -1;
mode_t g_umask_own = 022;

// Runs `f` under the tracee's umask so created modes match what the kernel would give it.
// The umask is left as it is afterwards: the next creation is almost always for a process
// with the same umask, and then needs no umask() call at all (two calls per created file
// before). guardian's own files are created with explicit modes (0600, 0644) that a umask
// only narrows; restore_umask() puts the supervisor's own back when the session ends.
template <class F>
long with_umask(mode_t m, F&& f) {
  m &= 0777;
  if (g_umask_set != static_cast<int>(m)) {
    mode_t old = ::umask(m);
    if (g_umask_set < 0) g_umask_own = old;
    g_umask_set = static_cast<int>(m);
  }
  return ret(f());
}

// Opening a FIFO or a device could block the supervisor's loop (a FIFO with no writer,
// a modem waiting for carrier): open non-blocking, then give the tracee the flags it asked.
long finish_nonblock(long fd, int flags) {
  if (fd >= 0 && !(flags & O_NONBLOCK)) {
    int fl = ::fcntl(static_cast<int>(fd), F_GETFL);
    if (fl >= 0) ::fcntl(static_cast<int>(fd), F_SETFL, fl & ~O_NONBLOCK);
  }
  return fd;
}

}  // namespace

void restore_umask() {
  if (g_umask_set >= 0) ::umask(g_umask_own);
  g_umask_set = -1;
}

std::string self_fd(int fd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
  return buf;
}

// Why safe: /proc/self/fd/N of our O_PATH descriptor reaches exactly the checked inode; the
// open still goes through the kernel's permission checks with the tracee's uid. O_NOCTTY:
// the supervisor must never acquire the tracee's terminal.
long reopen(int target, int flags, bool regular) {
  int f = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY;
  if (!regular) f |= O_NONBLOCK;
  // The same link as /proc/self/fd/N, looked up from our held /proc/self/fd (no walk).
  char name[12];
  long fd = ret(::openat(procfs::self_fd_dir(), procfs::fd_name(target, name), f));
  return regular ? fd : finish_nonblock(fd, flags);
}

// Why safe: `name` is looked up in the checked directory with O_NOFOLLOW: a symlink planted
// after the check fails with ELOOP; whatever else is at that name has the decided path.
long create_at(int parent, const std::string& name, int flags, mode_t mode, mode_t umask) {
  int f = flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  long fd = with_umask(umask, [&] { return ::openat(parent, name.c_str(), f, mode); });
  return finish_nonblock(fd, flags);
}

// Why safe: RESOLVE_NO_SYMLINKS (which also refuses /proc magic links) makes the kernel's
// walk the lexical one: what it opens or creates is at the decided path, and a symlink
// planted on the way after the decision fails with ELOOP instead of being followed.
// O_NOCTTY: the supervisor must never acquire the tracee's terminal.
long open_nosym(int root, const std::string& path, int flags, mode_t mode, mode_t umask) {
  // openat2 refuses flag bits open(2) ignores, and a mode without O_CREAT.
  constexpr std::uint64_t kOpenFlags =
      O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |
      FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |
      O_SYNC | O_PATH | O_TMPFILE;
  struct open_how how {};
  how.flags = (static_cast<std::uint64_t>(static_cast<unsigned>(flags)) & kOpenFlags) |
              O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_NO_SYMLINKS;
  auto run = [&] { return ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how); };
  if (!(flags & O_CREAT)) return ret(run());
  how.mode = mode & 07777;
  return with_umask(umask, run);
}

// Why safe: changes only the status flags of our own open description, to the tracee's.
// F_SETFL sets exactly these bits (the rest of `flags` is not settable and stays as opened);
// FASYNC and O_DIRECT are passed as opened, so nothing but O_NONBLOCK changes.
long clear_nonblock(int fd, int flags) {
  constexpr int kSettable = O_APPEND | FASYNC | O_DIRECT | O_NOATIME;
  return ret(::fcntl(fd, F_SETFL, flags & kSettable));
}

// Why safe: the unnamed file is created in the checked directory itself.
long tmpfile_in(int dir, int flags, mode_t mode, mode_t umask) {
  int f = (flags & ~O_NOFOLLOW) | O_CLOEXEC | O_NOCTTY;
  return with_umask(umask, [&] { return ::openat(dir, ".", f, mode); });
}

// Why safe (unlink, mkdir, mknod, rename, link, symlink): these never follow their last
// component, and the directory is the checked one; the name has the decided path.
long unlink_at(int parent, const std::string& name, int flags) {
  return ret(::unlinkat(parent, name.c_str(), flags));
}
long mkdir_at(int parent, const std::string& name, mode_t mode, mode_t umask) {
  return with_umask(umask, [&] { return ::mkdirat(parent, name.c_str(), mode); });
}
long mknod_at(int parent, const std::string& name, mode_t mode, dev_t dev, mode_t umask) {
  return with_umask(umask, [&] { return ::mknodat(parent, name.c_str(), mode, dev); });
}
long rename_at(int p1, const std::string& n1, int p2, const std::string& n2, unsigned flags) {
  return ret(::syscall(SYS_renameat2, p1, n1.c_str(), p2, n2.c_str(), flags));
}
long link_at(int p1, const std::string& n1, int p2, const std::string& n2) {
  return ret(::linkat(p1, n1.c_str(), p2, n2.c_str(), 0));
}
// Why safe: links the checked object itself (AT_EMPTY_PATH on our descriptor).
long link_obj(int target, int p2, const std::string& n2) {
  return ret(::linkat(target, "", p2, n2.c_str(), AT_EMPTY_PATH));
}
long symlink_at(const std::string& content, int parent, const std::string& name) {
  return ret(::symlinkat(content.c_str(), parent, name.c_str()));
}

// Why safe (chmod, chown, utimes, truncate, xattrs, setattr): they act on the checked
// inode through our descriptor (AT_EMPTY_PATH or its /proc/self/fd link), so a symlink
// swapped at the path afterwards is never followed.
long chmod_obj(int target, mode_t mode) {
  char name[12];
  return ret(::fchmodat(procfs::self_fd_dir(), procfs::fd_name(target, name), mode, 0));
}
long chown_obj(int target, uid_t uid, gid_t gid) {
  return ret(::fchownat(target, "", uid, gid, AT_EMPTY_PATH));
}
long utimens_obj(int target, const struct timespec* ts) {
  return ret(::syscall(SYS_utimensat, target, "", ts, AT_EMPTY_PATH));
}
long truncate_obj(int target, off_t len) {
  return ret(::truncate(self_fd(target).c_str(), len));
}
long setxattr_obj(int target, const std::string& name, const void* value, std::size_t size,
                  int flags) {
  return ret(::setxattr(self_fd(target).c_str(), name.c_str(), value, size, flags));
}
long removexattr_obj(int target, const std::string& name) {
  return ret(::removexattr(self_fd(target).c_str(), name.c_str()));
}
long setattr_obj(int target, const void* attr, std::size_t size) {
  constexpr long kFileSetattr = 469;
  return ret(::syscall(kFileSetattr, target, "", attr, size, AT_EMPTY_PATH));
}

// Why safe: the socket is the tracee's own (pidfd_getfd), the address our checked copy.
// A blocking connect would stall the supervisor: connect non-blocking; if the connection
// is in progress, the tracee's own connect() (CONTINUE) finds the socket already
// connecting, ignores its address argument and only waits for this connection.
long connect_sock(int sock, const sockaddr* sa, socklen_t len, bool& then_continue) {
  then_continue = false;
  int fl = ::fcntl(sock, F_GETFL);
  if (fl < 0) return -errno;
  bool blocking = !(fl & O_NONBLOCK);
  if (blocking) ::fcntl(sock, F_SETFL, fl | O_NONBLOCK);
  int rc = ::connect(sock, sa, len);
  int e = errno;
  if (blocking) ::fcntl(sock, F_SETFL, fl);
  if (rc == 0) return 0;
  if (e == EINPROGRESS && blocking &&
      (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
    then_continue = true;
    return 0;
  }
  return -e;
}

// Why safe: as connect; a unix path arrives as /proc/self/fd/P/NAME with P the checked
// parent directory, so the socket file is created exactly where decided.
long bind_sock(int sock, const sockaddr* sa, socklen_t len, mode_t umask) {
  return with_umask(umask, [&] { return ::bind(sock, sa, len); });
}

// Why safe: the kernel resolves the tracee's own text again, so a directory swapped for a
// symlink after the decision could send the name elsewhere; but the call is made on a
// thread of its own whose Landlock domain lets it create a socket only beneath `parent`,
// the directory decided (held open since), so such a swap fails with EACCES instead. The
// thread also has its own cwd and umask (unshare CLONE_FS) and ends after the call, so
// neither the domain nor the cwd reaches the supervisor's other threads.
long bind_unix_named(int sock, const sockaddr* sa, socklen_t len, int parent, int cwd,
                     mode_t umask) {
  long rc = -ENOSYS;
  try {
    std::thread t([&] {
      if (::unshare(CLONE_FS) != 0) return;
      if (cwd >= 0 && ::fchdir(cwd) != 0) return;
      struct landlock_ruleset_attr attr {};
      attr.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_SOCK;
      long rs = ::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
      if (rs < 0) return;
      struct landlock_path_beneath_attr pb {};
      pb.allowed_access = LANDLOCK_ACCESS_FS_MAKE_SOCK;
      pb.parent_fd = parent;
      // no_new_privs is per thread: it ends with this one.
      bool ok = ::syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0 &&
                ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
                ::syscall(SYS_landlock_restrict_self, rs, 0) == 0;
      ::close(static_cast<int>(rs));
      if (!ok) return;
      ::umask(umask & 0777);
      rc = ret(::bind(sock, sa, len));
    });
    t.join();
  } catch (const std::system_error&) {
    return -ENOSYS;  // no thread: the caller binds through `parent`
  }
  return rc;
}

// Why safe: the data, destination and control are our copies; MSG_DONTWAIT so the loop
// never blocks, MSG_NOSIGNAL so SIGPIPE is not ours (the decoder forwards it).
long sendmsg_sock(int sock, const msghdr* msg, int flags) {
  return ret(::sendmsg(sock, msg, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
}

// Why safe: as sendmsg_sock, and without MSG_DONTWAIT so a blocking socket blocks (or times
// out with its SO_SNDTIMEO) exactly as the tracee's own call would. A datagram interrupted
// by the Waiter's timer (EINTR) was not sent; the Waiter sends it again.
long sendmsg_wait(int sock, const msghdr* msg, int flags) {
  return ret(::sendmsg(sock, msg, flags | MSG_NOSIGNAL));
}

// Why safe: reads the tracee's own socket into our buffer; what it received is what the
// tracee would have received.
long recvfrom_wait(int sock, void* buf, std::size_t len, int flags, sockaddr* from,
                   socklen_t* fromlen) {
  return ret(::recvfrom(sock, buf, len, flags, from, fromlen));
}

namespace {
std::mutex own_mu;
std::deque<pid_t> own_sends;
}  // namespace

// Why: see emulate.hpp; bounded, so that a channel nobody drains cannot grow it.
void own_send_push(pid_t pid) {
  std::lock_guard lk(own_mu);
  if (own_sends.size() >= 4096) own_sends.pop_front();
  own_sends.push_back(pid);
}

void own_send_cancel(pid_t pid) {
  std::lock_guard lk(own_mu);
  for (auto it = own_sends.rbegin(); it != own_sends.rend(); ++it)
    if (*it == pid) {
      own_sends.erase(std::next(it).base());
      return;
    }
}

pid_t own_send_take() {
  std::lock_guard lk(own_mu);
  if (own_sends.empty()) return 0;
  pid_t p = own_sends.front();
  own_sends.pop_front();
  return p;
}

}  // namespace guardian::emulate
