// Starting the supervised command: fork, async-signal-safe child steps, listener hand-off.
#include "launch/launch.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "launch/landlock.hpp"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace guardian::launch {

namespace {

// What the child tells the parent: the listener's number, or the step that failed.
enum Stage : int {
  kListener = 0,
  kPdeathsig,
  kCloseRange,
  kKeepFd,
  kNoNewPrivs,
  kLandlock,
  kSeccomp,
  kSigmask,
};
struct ChildMsg {
  int stage;
  int value;  // listener fd or errno
  int wait_killable;
};

const char* stage_name(int stage) {
  switch (stage) {
    case kPdeathsig: return "PR_SET_PDEATHSIG";
    case kCloseRange: return "close_range";
    case kKeepFd: return "keeping a descriptor open";
    case kNoNewPrivs: return "PR_SET_NO_NEW_PRIVS";
    case kLandlock: return "landlock_restrict_self";
    case kSeccomp: return "installing the seccomp filter with a user-notify listener";
    case kSigmask: return "restoring the signal mask";
    default: return "starting the command";
  }
}

// Capabilities (root's) whose use reaches below every decision guardian makes, or past
// the session: devices, raw I/O ports and disks, the network's configuration (netlink
// changes: addresses, routes, links), freezing a file system, stealing or hanging up the
// user's terminal, the clock, the kernel log, raising the session's hard limits, file
// capabilities that a later run outside the session would grant. Dropped from the
// bounding set (root regains the rest of it at every exec) and from the process's own
// sets before the command runs. A developer tool run as root keeps what it uses: file
// ownership and permission overrides, signals and tracing (decided by guardian), binding
// low ports, nice, locking memory.
constexpr int kDroppedCaps[] = {
    CAP_NET_ADMIN,    CAP_NET_RAW,   CAP_SYS_MODULE,        CAP_SYS_RAWIO,  CAP_SYS_CHROOT,
    CAP_SYS_PACCT,    CAP_SYS_ADMIN, CAP_SYS_BOOT,          CAP_SYS_RESOURCE, CAP_SYS_TIME,
    CAP_SYS_TTY_CONFIG, CAP_MKNOD,   CAP_AUDIT_CONTROL,     CAP_SETFCAP,    CAP_MAC_OVERRIDE,
    CAP_MAC_ADMIN,    CAP_SYSLOG,    CAP_WAKE_ALARM,        CAP_BLOCK_SUSPEND, CAP_AUDIT_READ,
    38 /* CAP_PERFMON */, 39 /* CAP_BPF */, 40 /* CAP_CHECKPOINT_RESTORE */};

// Async-signal-safe. Without CAP_SETPCAP (an ordinary user) the bounding set cannot
// shrink, but then the process holds none of these either, and no_new_privs keeps exec
// from granting file capabilities.
void drop_capabilities() {
  for (int cap : kDroppedCaps) (void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);  // EINVAL: older kernel
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return;
  bool held = false;
  for (int cap : kDroppedCaps) {
    const std::uint32_t bit = 1U << (cap % 32);
    auto& d = data[cap / 32];
    held = held || ((d.permitted | d.effective | d.inheritable) & bit);
    d.permitted &= ~bit;
    d.effective &= ~bit;
    d.inheritable &= ~bit;  // and with it the ambient set (kept within permitted & inheritable)
  }
  if (held) (void)syscall(SYS_capset, &hdr, data);
}

// Everything here runs between fork and execve in a possibly multi-threaded parent: raw
// syscalls only, no allocation, no locks.
[[noreturn]] void child(const LaunchSpec& spec, pid_t parent, int to_parent, int from_parent,
                        char* const* argv, char* const* envp) {
  auto report = [&](int stage, int err) {
    ChildMsg m{stage, err, 0};
    (void)!write(to_parent, &m, sizeof m);
    _exit(125);
  };
  // Default dispositions for what the supervisor may have changed; the mask it blocked.
  signal(SIGPIPE, spec.sigpipe_ignored ? SIG_IGN : SIG_DFL);
  if (sigprocmask(SIG_SETMASK, &spec.sigmask, nullptr) != 0) report(kSigmask, errno);
  // Fail closed if the supervisor dies (and the race where it already did).
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) report(kPdeathsig, errno);
  if (getppid() != parent) _exit(125);
  // Inherited descriptors other than 0, 1, 2 must not reach the command.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) report(kCloseRange, errno);
  for (int fd : spec.keep_fds)
    if (fcntl(fd, F_SETFD, 0) != 0) report(kKeepFd, errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) report(kNoNewPrivs, errno);
  drop_capabilities();
  if (spec.landlock_ruleset_fd >= 0) {
    if (int e = landlock_apply_in_child(spec.landlock_ruleset_fd)) report(kLandlock, e);
  }
  // WAIT_KILLABLE_RECV: once received, a notification is not restarted by non-fatal signals,
  // which keeps signal-heavy runtimes (Go preemption) from restart storms.
  int wait_killable = 1;
  if (!spec.listener) {
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, spec.filter) != 0) report(kSeccomp, errno);
    ChildMsg t{kListener, -1, 1};
    if (write(to_parent, &t, sizeof t) != sizeof t) _exit(125);
    char go;
    // Released only once the supervisor traces us: a SECCOMP_RET_TRACE stop without a
    // tracer would fail the syscall with ENOSYS instead of asking.
    if (read(from_parent, &go, 1) != 1) _exit(125);
    execve(spec.path.c_str(), argv, envp);
    _exit(errno == ENOENT ? 127 : 126);
  }
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                          SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                          spec.filter);
  if (listener < 0 && errno == EINVAL) {
    wait_killable = 0;
    listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                       spec.filter);
  }
  if (listener < 0) report(kSeccomp, errno);
  // write/read are not intercepted, so this cannot wait on the listener it announces.
  ChildMsg m{kListener, static_cast<int>(listener), wait_killable};
  if (write(to_parent, &m, sizeof m) != sizeof m) _exit(125);
  char ack;
  if (read(from_parent, &ack, 1) != 1) _exit(125);  // parent gave up: never exec unsupervised
  close(static_cast<int>(listener));
  execve(spec.path.c_str(), argv, envp);
  _exit(errno == ENOENT ? 127 : 126);
}

std::vector<char*> c_array(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2), spelled out so that
// <linux/sched.h> need not meet glibc's <sched.h>.
struct CloneArgs {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
      set_tid, set_tid_size, cgroup;
};

// fork(), or clone3 straight into the cgroup `cgroup_fd` when given and the kernel agrees.
// Like fork, the child continues on a copy of this stack; it only runs child() below.
pid_t spawn(int cgroup_fd, bool& in_cgroup) {
  in_cgroup = false;
  if (cgroup_fd >= 0) {
    CloneArgs args{};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      in_cgroup = true;
      return static_cast<pid_t>(pid);
    }
    // ENOSYS/E2BIG/EINVAL: no clone3 or no CLONE_INTO_CGROUP; EBUSY/EOPNOTSUPP: the group
    // cannot take it this way. fork, and the caller moves the child.
  }
  return fork();
}

void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
}

}  // namespace

int probe_user_notify() {
  // The common case needs no child: we run under no seccomp filter, and the kernel knows
  // user notifications. A child's filter with NEW_LISTENER is then refused only for lack
  // of memory or descriptors: EBUSY needs a listener on a filter above it, and only a
  // filter above it could refuse the seccomp() call. (Installing one in a child was 0.1-0.3
  // ms of start-up: the kernel compiles it, makes the listener, and tears both down.)
  std::uint32_t user_notif = SECCOMP_RET_USER_NOTIF;
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0 &&
      syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &user_notif) == 0)
    return 0;
  struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {1, &allow};
  // vfork: the probe only makes two syscalls, and sharing our memory spares copying the
  // page tables of a supervisor that has its profile, engine and threads set up (a fork
  // cost 0.3 ms or more of start-up). No-new-privs, the filter and its listener belong to
  // the child task alone; we are suspended until it exits.
  pid_t pid = vfork();
  if (pid < 0) return errno;
  if (pid == 0) {
    // Raw syscalls only; the status carries the errno.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(errno & 0xff);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog) < 0)
      _exit(errno & 0xff);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0)
    if (errno != EINTR) return errno;
  if (!WIFEXITED(status)) return EINVAL;
  return WEXITSTATUS(status);
}

Result<Launched> launch(const LaunchSpec& spec, const BeforeExec& before_exec) {
  if (!spec.filter) return fail("internal error: no seccomp filter to install");
  int up[2], down[2];
  if (pipe2(up, O_CLOEXEC) != 0) return fail_errno("cannot create a pipe", errno);
  UniqueFd up_r(up[0]), up_w(up[1]);
  if (pipe2(down, O_CLOEXEC) != 0) return fail_errno("cannot create a pipe", errno);
  UniqueFd down_r(down[0]), down_w(down[1]);
  std::vector<char*> argv = c_array(spec.argv);
  std::vector<char*> envp = c_array(spec.envp);
  pid_t parent = getpid();

  bool in_cgroup = false;
  pid_t pid = spawn(spec.cgroup_fd, in_cgroup);
  if (pid < 0) return fail_errno("cannot fork", errno);
  if (pid == 0) child(spec, parent, up_w.get(), down_r.get(), argv.data(), envp.data());

  up_w.reset();
  down_r.reset();
  Launched l;
  l.pid = pid;
  l.in_cgroup = in_cgroup;
  // Our own child cannot be reaped behind our back, so its pid is stable here.
  l.pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!l.pidfd) {
    int e = errno;
    kill_and_reap(pid);
    return fail_errno("cannot open a pidfd for the command", e);
  }
  ChildMsg m{};
  ssize_t n;
  do n = read(up_r.get(), &m, sizeof m);
  while (n < 0 && errno == EINTR);
  if (n != sizeof m) {
    kill_and_reap(pid);
    return fail("the command's process died before installing the seccomp filter");
  }
  if (m.stage != kListener) {
    kill_and_reap(pid);
    std::string msg = std::string("cannot start the command: ") + stage_name(m.stage) +
                      " failed: " + std::strerror(m.value);
    if (m.stage == kSeccomp)
      msg += m.value == EBUSY
                 ? " (already under a seccomp supervisor that refuses nested listeners;"
                   " try --backend ptrace)"
                 : " (seccomp user notification unavailable; needs Linux >= 5.0 with seccomp)";
    return fail(msg, m.value);
  }
  l.wait_killable = m.wait_killable != 0;
  if (!spec.listener) {
    if (before_exec) {
      if (auto r = before_exec(l); !r) {
        kill_and_reap(pid);
        return r.error();
      }
    }
    char go = 1;
    if (write(down_w.get(), &go, 1) != 1) {
      int e = errno;
      kill_and_reap(pid);
      return fail_errno("cannot release the command", e);
    }
    return l;
  }
  int lfd = static_cast<int>(syscall(SYS_pidfd_getfd, l.pidfd.get(), m.value, 0));
  if (lfd < 0) {
    int e = errno;
    kill_and_reap(pid);
    return fail_errno("cannot take the seccomp listener from the command (pidfd_getfd)", e);
  }
  l.listener.reset(lfd);
  if (before_exec) {
    if (auto r = before_exec(l); !r) {
      kill_and_reap(pid);
      return r.error();
    }
  }
  char ack = 1;
  if (write(down_w.get(), &ack, 1) != 1) {
    int e = errno;
    kill_and_reap(pid);
    return fail_errno("cannot release the command", e);
  }
  return l;
}

}  // namespace guardian::launch
