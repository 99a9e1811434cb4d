// Process decoder: signals (and descriptor owners, who get SIGIO), ptrace, cross-process
// memory and descriptors, pidfds, prlimit and scheduling (priority, policy, CPUs, I/O
// priority) are allowed on processes of the session and refused (EPERM) on anyone else.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/procfs.hpp"
#include "decode/impl.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;

namespace {

// Calls on_process(pid, rest) for each process in /proc, where `rest` is its stat line
// after the command name (" state ppid pgrp session tty_nr tpgid ..."), until it returns
// false. The command name may hold spaces and parentheses; the last ')' ends it. False
// when /proc cannot be read.
template <class F>
bool for_each_proc_stat(F&& on_process) {
  DIR* d = ::opendir("/proc");
  if (!d) return false;
  char path[300], buf[512];
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    if (!procfs::read_small(path, buf, sizeof buf)) continue;
    const char* p = std::strrchr(buf, ')');
    if (!p) continue;
    if (!on_process(static_cast<pid_t>(std::atoi(e->d_name)), p + 1)) break;
  }
  ::closedir(d);
  return true;
}

// Calls on_member(pid) for each process of group `pgid` (as /proc/PID/stat says) until it
// returns false.
template <class F>
void for_each_in_group(pid_t pgid, F&& on_member) {
  for_each_proc_stat([&](pid_t pid, const char* rest) {
    int ppid = 0, pgrp = 0;
    char state = 0;
    if (std::sscanf(rest, " %c %d %d", &state, &ppid, &pgrp) != 3 || pgrp != pgid) return true;
    return on_member(pid);
  });
}

// A process group whose leader is not (or no longer) known: the session's when it has
// members and every one of them is the session's (bash signalling a job whose first
// process already exited, kill(-PGID) or kill(0) from a later member).
bool group_of_session(pid_t pgid, const SessionView& session) {
  bool any = false, outsider = false;
  for_each_in_group(pgid, [&](pid_t pid) {
    any = true;
    outsider = !session.in_session(pid);
    return !outsider;
  });
  return any && !outsider;
}

// The members of process group `pgid` that belong to the session, when the only process of
// the group outside it is guardian itself (the command shares guardian's group, so that
// the terminal's job control reaches both): natively that group is the command's own. Empty
// when anyone else outside the session is in it.
std::vector<pid_t> session_part_of_our_group(pid_t pgid, const SessionView& session) {
  std::vector<pid_t> members;
  if (pgid <= 0 || pgid != ::getpgrp()) return members;
  const pid_t self = ::getpid();
  for_each_in_group(pgid, [&](pid_t pid) {
    if (pid == self) return true;
    if (!session.in_session(pid)) {
      members.clear();
      return false;
    }
    members.push_back(pid);
    return true;
  });
  return members;
}

// Sends `sig` to each of `pids` through a pidfd that is checked to still name a process
// of the session in group `pgid` (a PID freed and reused meanwhile is not signalled).
// Returns 0 when one at least got it, else -errno as kill(2) would say.
long signal_members(const std::vector<pid_t>& pids, pid_t pgid, int sig, const SessionView& session) {
  long rc = -ESRCH;
  for (pid_t pid : pids) {
    UniqueFd pfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pfd || !session.in_session(pid) || ::getpgid(pid) != pgid) continue;
    if (::syscall(SYS_pidfd_send_signal, pfd.get(), sig, nullptr, 0) == 0) rc = 0;
    else if (rc != 0) rc = -errno;
  }
  return rc;
}

}  // namespace

namespace {
// The PID of a descriptor of a /proc/PID directory; 0 when it is no procfs directory, -1
// when it is one whose name is not a PID.
pid_t proc_dir_pid(int fd) {
  struct statfs sf {};
  struct stat st {};
  if (::fstatfs(fd, &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC || ::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode))
    return 0;
  char link[48], buf[256];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, buf, sizeof buf - 1);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* slash = std::strrchr(buf, '/');
  char* end = nullptr;
  long pid = slash ? std::strtol(slash + 1, &end, 10) : 0;
  return pid > 0 && end && *end == '\0' && end != slash + 1 ? static_cast<pid_t>(pid) : -1;
}
}  // namespace

// An allowed pidfd call whose descriptor table another task can change: performed here on
// the descriptor that was checked (a continued call would take descriptor N again).
Response Handler::Impl::pidfd_call(Ctx& c, int pidfd) {
  Response out;
  switch (c.n.nr) {
    case SYS_pidfd_send_signal: {
      siginfo_t si;
      std::memset(&si, 0, sizeof si);
      if (c.arg(2) && !c.t.read(c.arg(2), &si, sizeof si)) return error(EFAULT);
      if (!valid(c, out)) return out;
      long rc = ::syscall(SYS_pidfd_send_signal, pidfd, c.iarg(1), c.arg(2) ? &si : nullptr,
                          static_cast<unsigned>(c.arg(3)));
      return value(rc < 0 ? -errno : rc);
    }
    case SYS_pidfd_getfd: {
      // The new descriptor must land in the caller: only ADDFD can put it there.
      if (!c.t.can_inject_fd()) return error(EPERM);
      long nfd = ::syscall(SYS_pidfd_getfd, pidfd, c.iarg(1), static_cast<unsigned>(c.arg(2)));
      if (nfd < 0) return error(errno);
      Response r;
      r.kind = Response::Kind::inject_fd;
      r.fd = UniqueFd(static_cast<int>(nfd));
      r.cloexec = true;  // the kernel's pidfd_getfd sets it
      return r;
    }
    default: {  // process_madvise: the ranges are the target's addresses, read once here
      if (c.arg(2) > IOV_MAX) return error(EINVAL);
      std::size_t n = c.arg(2);
      std::vector<struct iovec> iov(n);
      if (n && !c.t.read(c.arg(1), iov.data(), n * sizeof(struct iovec))) return error(EFAULT);
      if (!valid(c, out)) return out;
      long rc = ::syscall(440, pidfd, iov.data(), n, c.iarg(3), static_cast<unsigned>(c.arg(4)));
      return value(rc < 0 ? -errno : rc);
    }
  }
}

// kill(0), setpriority(PRIO_PGRP, 0) or ioprio_set(IOPRIO_WHO_PGRP, 0), allowed for group
// `pgid` (the caller's when it was decided), performed on that group by number: a group
// the session's decision admitted holds no outsider, and none can join it (setpgid into a
// group is the joiner's own call). The signal's sender is then guardian (si_pid), as for
// the group guardian shares with the command (signal_members).
Response Handler::Impl::own_group_call(Ctx& c, pid_t pgid) {
  Response out;
  if (!valid(c, out)) return out;
  long rc;
  if (c.n.nr == SYS_kill) rc = ::kill(-pgid, c.iarg(1));
  else if (c.n.nr == SYS_setpriority) rc = ::setpriority(PRIO_PGRP, static_cast<id_t>(pgid), c.iarg(2));
  else rc = ::syscall(SYS_ioprio_set, 2 /* IOPRIO_WHO_PGRP */, pgid, c.iarg(2));
  return rc < 0 ? error(errno) : value(0);
}

// ioctl(TIOCSPGRP), tcsetpgrp(3): the terminal's foreground process group gets what the
// user types there, ^C and ^Z among it, and SIGWINCH. The terminal is shared with the
// user's shell: a group of the session, or the one guardian shares with the command, may
// be made the foreground; another program's (a background job of the shell, whose ^C the
// user meant for the session would then end it) may not (EPERM, as the kernel refuses a
// group of another terminal session).
Response Handler::Impl::foreground(Ctx& c) {
  Response out;
  auto fd = c.t.take_fd(c.iarg(0));
  if (!fd) return error(EBADF);
  pid_t pgid = 0;
  if (!c.t.read(c.arg(2), &pgid, sizeof pgid)) return error(EFAULT);
  if (!valid(c, out)) return out;
  if (pgid < 0) return error(EINVAL);
  policy::Request req;
  req.category = Category::process;
  req.op = Op::other;
  addr_text = "pgid:" + std::to_string(pgid);
  const bool inside = pgid > 0 && (pgid == ::getpgrp() || pgid == c.tgid || session.in_session(pgid) ||
                                   group_of_session(pgid, session));
  if (!inside && (pgid == 0 || (::kill(-pgid, 0) != 0 && errno == ESRCH))) return error(ESRCH);  // the kernel's
  if (!local(c, req, inside, EPERM, addr_text, out)) return out;
  // In a terminal session of its own (setsid, then a terminal it opened: script, tmux),
  // the process can only name groups of that session, which no outsider can join: the
  // kernel runs the call.
  const pid_t sid = ::getsid(c.tgid);
  if (sid > 0 && sid != ::getsid(0)) return cont();
  // In guardian's: the number read here is the one decided; another thread may change
  // the memory meanwhile. Performed on a copy of the descriptor (guardian shares the
  // terminal and its session; it blocks SIGTTOU, so a background guardian is not stopped).
  return value(::ioctl(fd.value().get(), TIOCSPGRP, &pgid) < 0 ? -errno : 0);
}

namespace {
// The foreground process group of terminal `fd`, which the kernel makes the owner of a
// terminal's open file when O_ASYNC is turned on and no owner is set: > 0 a group; 0
// none (a pseudo-terminal's master, or a terminal that is nobody's controlling one: the
// caller then owns it).
pid_t tty_foreground(int fd) {
  unsigned ptn = 0;
  if (::ioctl(fd, TIOCGPTN, &ptn) == 0) return 0;  // a master: its own side has no group
  pid_t pg = 0;
  if (::ioctl(fd, TIOCGPGRP, &pg) == 0) return pg > 0 ? pg : 0;  // guardian's own terminal
  // Another terminal: the group its session's members show as their terminal's (stat
  // fields 7, tty_nr, and 8, tpgid).
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  const unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
  const long want = static_cast<long>((min & 0xff) | (maj << 8) | ((min & ~0xffU) << 12));
  pid_t found = 0;
  const bool read = for_each_proc_stat([&](pid_t, const char* rest) {
    long tty = 0;
    int tpgid = 0;
    if (std::sscanf(rest, " %*c %*d %*d %*d %ld %d", &tty, &tpgid) != 2) return true;
    if (tty != want || tpgid <= 0) return true;
    found = tpgid;
    return false;
  });
  if (!read) return -1;
  return found;
}
}  // namespace

// fcntl(F_SETFL) with O_ASYNC, ioctl(FIOASYNC), fcntl(F_SETSIG): a descriptor's I/O signal
// (SIGIO, or with F_SETSIG any signal, SIGKILL included) goes to its owner, and turning
// O_ASYNC on for a terminal with no owner set makes the terminal's foreground process
// group the owner: a session in the background of the user's shell would have the shell's
// group killed at the next line typed. Allowed when the owner is, or would become, a
// process or group of the session (or none); performed on a copy of the descriptor (the
// flags, the signal and the owner belong to the open file, which the copy shares), the
// owner set first where the kernel would pick it, so that it is never guardian.
Response Handler::Impl::async_signal(Ctx& c) {
  Response out;
  const auto cmd = static_cast<std::uint32_t>(c.arg(1));
  auto fd = c.t.take_fd(c.iarg(0));
  if (!fd) return error(EBADF);
  const int own = fd.value().get();
  int on = 1;
  if (c.n.nr == SYS_ioctl && !c.t.read(c.arg(2), &on, sizeof on)) return error(EFAULT);
  if (!valid(c, out)) return out;
  const int fl = ::fcntl(own, F_GETFL);
  const bool want_async = c.n.nr == SYS_ioctl ? on != 0 : cmd == F_SETFL ? (c.arg(2) & O_ASYNC) != 0 : false;
  const bool turning_on = want_async && fl >= 0 && !(fl & O_ASYNC);
  struct f_owner_ex ex {};
  if (::fcntl(own, F_GETOWN_EX, &ex) != 0) ex = {};
  pid_t owner = ex.pid;
  bool group = ex.type == F_OWNER_PGRP;
  bool preset = false;  // the kernel would pick the owner: set it here first
  if (turning_on && owner == 0 && ::isatty(own)) {
    pid_t fg = tty_foreground(own);
    if (fg < 0) return error(EPERM);  // cannot tell: fail closed
    owner = fg > 0 ? fg : c.tgid;
    group = fg > 0;
    preset = true;
  }
  // Nothing that can signal anyone: F_SETFL without O_ASYNC turning on and no owner.
  const bool decide = owner != 0 && (turning_on || cmd == F_SETSIG || (want_async && (fl & O_ASYNC)));
  if (decide) {
    policy::Request req;
    req.category = Category::process;
    req.op = Op::signal;
    addr_text = (group ? "pgid:" : "pid:") + std::to_string(owner);
    bool inside = group ? (session.in_session(owner) || group_of_session(owner, session))
                        : (owner == c.tgid || owner == c.n.tid || session.in_session(owner));
    if (!local(c, req, inside, EPERM, addr_text, out)) return out;
  }
  if (preset) {
    struct f_owner_ex set {};
    set.type = group ? F_OWNER_PGRP : F_OWNER_PID;
    set.pid = owner;
    if (::fcntl(own, F_SETOWN_EX, &set) != 0) return error(errno);
  }
  long rc;
  if (c.n.nr == SYS_ioctl) rc = ::ioctl(own, FIOASYNC, &on);
  else rc = ::fcntl(own, static_cast<int>(cmd), static_cast<long>(c.arg(2)));
  return value(rc < 0 ? -errno : 0);
}

Response Handler::Impl::process(Ctx& c) {
  switch (c.n.nr) {
    case SYS_shmget: case SYS_shmat: case SYS_shmctl: case SYS_msgget: case SYS_msgsnd:
    case SYS_msgrcv: case SYS_msgctl: case SYS_semget: case SYS_semop: case SYS_semctl:
    case SYS_semtimedop:
      return ipc(c);
    case SYS_mq_open: case SYS_mq_unlink:
      return mqueue(c);
    case SYS_io_setup:
      // Its requests complete into the caller's memory whenever the device is done: no
      // path buffer of the session is then sure to hold still (SessionView::memory_quiet).
      session.note_memory_writer();
      return cont();
    default: break;
  }
  Response out;
  policy::Request req;
  req.category = Category::process;
  req.op = Op::signal;
  pid_t target = 0;
  bool check = true;
  UniqueFd pidfd;  // pidfd family: our copy of the descriptor that was decided
  // The call names the caller's own process group (kill(0), PRIO_PGRP 0): the kernel looks
  // the group up again when it runs the call, and by then another thread of the process
  // (or its parent, before it execs) may have moved it into an outsider's group with
  // setpgid, which is not decided. Unless nothing can, it is performed here on the group
  // that was decided (own_group_call).
  bool own_group = false;
  switch (c.n.nr) {
    case SYS_kill: {
      auto pid = static_cast<pid_t>(c.arg(0));
      if (c.iarg(1) == 0) return cont();  // signal 0 only probes existence
      if (pid == -1) {                     // every process we may signal: never
        addr_text = "pid:-1";
        return local(c, req, false, EPERM, "pid:-1", out) ? cont() : std::move(out);
      }
      // A process group is the session's when its leader is (a group cannot span sessions
      // unless an outsider joins it, which needs setpgid from inside that session).
      target = pid > 0 ? pid : pid == 0 ? ::getpgid(c.tgid) : -pid;
      own_group = pid == 0;
      break;
    }
    case SYS_tkill: target = static_cast<pid_t>(c.arg(0)); check = c.iarg(1) != 0; break;
    case SYS_tgkill: target = static_cast<pid_t>(c.arg(1)); check = c.iarg(2) != 0; break;
    case SYS_rt_sigqueueinfo: target = static_cast<pid_t>(c.arg(0)); break;
    case SYS_rt_tgsigqueueinfo: target = static_cast<pid_t>(c.arg(1)); break;
    case SYS_pidfd_send_signal:
    case SYS_pidfd_getfd:
    case 440: {  // process_madvise
      if (c.n.nr != SYS_pidfd_send_signal) req.op = Op::trace;
      // Never continued on what was not checked: the kernel would look the descriptor up
      // again, and another thread may by then have put an outsider's pidfd (or /proc/PID
      // directory) there with dup2. Not a descriptor, or not a pidfd: the kernel's EBADF.
      auto fd = c.t.take_fd(c.iarg(0));
      if (!fd) return error(EBADF);
      target = pidfd_pid(fd.value().get());
      // pidfd_send_signal also takes a descriptor of a /proc/PID directory.
      if (target <= 0 && c.n.nr == SYS_pidfd_send_signal) target = proc_dir_pid(fd.value().get());
      if (target < 0) {  // a /proc directory whose process cannot be told: fail closed
        addr_text = "pid:?";
        return local(c, req, false, EPERM, addr_text, out) ? cont() : std::move(out);
      }
      if (target == 0) return error(EBADF);  // neither a pidfd nor a /proc/PID directory
      pidfd = std::move(fd.value());
      break;
    }
    case SYS_setpgid: {
      // Joining group `pgid` (0: a group of the process's own number, which the filter lets
      // through; negative: the kernel's EINVAL). The group guardian shares with the command
      // may be joined back (bash restores its first group as it ends); any other must be
      // the session's, as for kill(-PGID). Refused as the kernel refuses a group of another
      // terminal session.
      const auto pgid = static_cast<pid_t>(c.arg(1));
      if (pgid <= 0) return cont();
      req.op = Op::other;
      addr_text = "pgid:" + std::to_string(pgid);
      bool inside = pgid == ::getpgrp() || pgid == c.tgid || session.in_session(pgid) ||
                    group_of_session(pgid, session);
      if (!inside && ::kill(-pgid, 0) != 0 && errno == ESRCH) return error(EPERM);  // no such group
      return local(c, req, inside, EPERM, addr_text, out) ? cont() : std::move(out);
    }
    case SYS_ptrace:
      if (c.arg(0) == PTRACE_TRACEME) {  // the parent is in the session
        Response r = cont();
        r.release_trace = c.n.tid;
        return r;
      }
      req.op = Op::trace;
      target = static_cast<pid_t>(c.arg(1));
      break;
    case SYS_process_vm_readv:
    case SYS_process_vm_writev:
      req.op = Op::trace;
      target = static_cast<pid_t>(c.arg(0));
      // Another process's memory written while it may wait in a notification.
      if (c.n.nr == SYS_process_vm_writev && target != c.tgid && target != c.n.tid)
        session.note_memory_writer();
      break;
    case SYS_migrate_pages:
    case SYS_move_pages:
      if (c.iarg(0) <= 0) return cont();  // oneself, or ESRCH from the kernel
      req.op = Op::trace;
      target = c.iarg(0);
      break;
    case SYS_kcmp: {
      // Both processes must be the session's: the one that is not decides.
      req.op = Op::trace;
      target = c.iarg(0);
      auto second = static_cast<pid_t>(c.arg(1));
      if (target > 0 && (target == c.tgid || target == c.n.tid || session.in_session(target))) target = second;
      if (target <= 0) return cont();  // no such process: the kernel says ESRCH
      break;
    }
    case SYS_pidfd_open:
      req.op = Op::trace;
      target = static_cast<pid_t>(c.arg(0));
      break;
    case SYS_fcntl:
    case SYS_ioctl: {
      // A descriptor's owner gets its SIGIO, or with F_SETSIG any signal: setting one is
      // decided like a kill(2) of it. An owner in a register is checked and let through.
      const auto cmd = static_cast<std::uint32_t>(c.arg(1));
      if ((c.n.nr == SYS_fcntl && (cmd == F_SETFL || cmd == F_SETSIG)) || (c.n.nr == SYS_ioctl && cmd == FIOASYNC))
        return async_signal(c);
      if (c.n.nr == SYS_fcntl && cmd == F_SETOWN) {
        int v = c.iarg(2);
        if (v == 0 || v == INT_MIN) return cont();  // no owner; the kernel refuses INT_MIN
        target = v > 0 ? v : -v;  // a process, or a process group by its leader
        break;
      }
      if (c.n.nr == SYS_fcntl && cmd != F_SETOWN_EX) return cont();
      if (c.n.nr == SYS_ioctl && cmd == 0x5410) return foreground(c);  // TIOCSPGRP
      if (c.n.nr == SYS_ioctl && cmd != 0x8901 && cmd != 0x8902) return cont();
      // F_SETOWN_EX, FIOSETOWN, SIOCSPGRP: the owner is in memory that another thread may
      // change after the check. Read it once, decide, and set it ourselves on a copy of the
      // descriptor (the owner belongs to the open file, which the copy shares).
      // Not a descriptor: the kernel's EBADF (continued, it would read the owner from memory
      // unchecked for whatever another thread dup2'ed onto that number meanwhile).
      auto fd = c.t.take_fd(c.iarg(0));
      if (!fd) return error(EBADF);
      int own = fd.value().get();
      struct f_owner_ex ex {};
      int who = 0;
      if (c.n.nr == SYS_fcntl) {
        if (!c.t.read(c.arg(2), &ex, sizeof ex)) return error(EFAULT);
        if (ex.type != F_OWNER_TID && ex.type != F_OWNER_PID && ex.type != F_OWNER_PGRP) return error(EINVAL);
        who = ex.pid;
      } else {
        // Not a socket: ENOTTY, as files, pipes and terminals answer these commands (a
        // continued call would look the number up again, where a socket may stand by then).
        struct stat st {};
        if (::fstat(own, &st) != 0 || !S_ISSOCK(st.st_mode)) return error(ENOTTY);
        if (!c.t.read(c.arg(2), &who, sizeof who)) return error(EFAULT);
        if (who == INT_MIN) return error(EINVAL);
      }
      if (!valid(c, out)) return out;
      if (who != 0) {
        target = who > 0 ? who : -who;
        addr_text = "pid:" + std::to_string(target);
        bool inside = target == c.tgid || target == c.n.tid || session.in_session(target);
        if (!local(c, req, inside, EPERM, addr_text, out)) return out;
      }
      int rc = c.n.nr == SYS_fcntl ? ::fcntl(own, F_SETOWN_EX, &ex) : ::fcntl(own, F_SETOWN, who);
      return value(rc < 0 ? -errno : 0);
    }
    case SYS_setpriority:
    case 251: {  // ioprio_set
      // setpriority: PRIO_PROCESS 0, PRIO_PGRP 1, PRIO_USER 2; ioprio_set: one more.
      const int which = c.iarg(0) - (c.n.nr == SYS_setpriority ? 0 : 1), who = c.iarg(1);
      req.op = Op::other;
      if (which == 2) {  // every process of a user: never
        addr_text = "uid:" + std::to_string(who);
        return local(c, req, false, EPERM, addr_text, out) ? cont() : std::move(out);
      }
      if (which != 0 && which != 1) return cont();  // the kernel says EINVAL
      if (who == 0 && which == 0) return cont();     // oneself
      // A process, or a process group by its leader (0: one's own, which holds guardian).
      target = who != 0 ? who : ::getpgid(c.tgid);
      own_group = who == 0;
      break;
    }
    case SYS_sched_setparam:
    case SYS_sched_setscheduler:
    case SYS_sched_setaffinity:
    case 314:  // sched_setattr
      if (c.iarg(0) == 0) return cont();
      req.op = Op::other;
      target = c.iarg(0);
      break;
    case SYS_prlimit64:
      // Reading limits, or setting one's own, is harmless; setting an outsider's is not.
      if (c.arg(0) == 0 || c.arg(2) == 0) return cont();
      req.op = Op::other;
      target = static_cast<pid_t>(c.arg(0));
      break;
    default: return error(ENOSYS);
  }
  if (!check) return cont();
  addr_text = "pid:" + std::to_string(target);
  bool inside = target > 0 && (target == c.tgid || target == c.n.tid || session.in_session(target));
  if (!inside && target > 0 && c.n.nr == SYS_kill && c.iarg(0) <= 0)
    inside = group_of_session(target, session);
  // kill(0) or kill(-PGID) of the group the command shares with guardian (`trap 'kill 0'
  // EXIT` to end a script's background jobs): natively that group is the command's, so
  // its session members get the signal, the caller too, and guardian itself does not.
  if (!inside && target > 0 && c.n.nr == SYS_kill && c.iarg(0) <= 0) {
    std::vector<pid_t> members = session_part_of_our_group(target, session);
    if (!members.empty()) {
      if (!local(c, req, true, 0, addr_text, out, "guardian:own-group")) return out;
      long rc = signal_members(members, target, c.iarg(1), session);
      return rc < 0 ? error(static_cast<int>(-rc)) : value(0);
    }
  }
  // kill(-PGID): the group, which may outlive its leader.
  pid_t probe = c.n.nr == SYS_kill && c.iarg(0) < -1 ? -target : target;
  if (!inside && target > 0 && ::kill(probe, 0) != 0 && errno == ESRCH) {
    // Gone (a pool worker its own parent already reaped): the kernel says ESRCH before it
    // asks about permission. No signal is sent either way, and signal 0 tells a tracee as
    // much, so nothing is decided or logged for it.
    return error(ESRCH);
  }
  if (!local(c, req, inside, EPERM, addr_text, out)) return out;
  if (own_group && !session.memory_private(c.n.tid)) return own_group_call(c, target);
  if (pidfd && inside && !session.fd_table_private(c.n.tid)) return pidfd_call(c, pidfd.get());
  Response r = cont();
  // Becoming a tracer of a session process: the backend hands it over (see Response).
  if (c.n.nr == SYS_ptrace && (c.arg(0) == PTRACE_ATTACH || c.arg(0) == PTRACE_SEIZE))
    r.release_trace = target;
  return r;
}

}  // namespace guardian::decode
