/* The minimal supervisor the benchmark compares guardian against: the same kind of listener
 * (user notification for access/faccessat/faccessat2/newfstatat/openat..., SYNC_WAKE_UP) that
 * answers every notification with CONTINUE and does nothing else.
 * With --ptrace it also traces the tree for events only, with guardian's options (exec, fork,
 * vfork, clone, EXITKILL), from the same poll loop through a signalfd, and resumes every
 * stop at once: the floor of guardian's design (exec checked at PTRACE_EVENT_EXEC, every
 * process known), without any of its work.
 * With --open=MODE it answers openat as guardian's emulation must at least: it reads the path
 * (a kept /proc/PID/mem descriptor), proves the notification with ID_VALID, opens the path
 * itself (relative to its own cwd: run it from the tracee's) and injects the descriptor:
 *   addfd       ADDFD, then NOTIF_SEND with its number
 *   addfd-hold  the same, the thread held on our CPU during ADDFD (get + 2 setaffinity)
 *   addfd-pin   the same, the hold without sched_getaffinity (the mask assumed to be all CPUs)
 *   addfd-both  the hold, and the supervisor itself held on its CPU during ADDFD too (the
 *               thread's completion wakes it with a plain wake-up as well)
 *   send        ADDFD with SECCOMP_ADDFD_FLAG_SEND (one ioctl answers)
 *   send-hold   that, the thread held on our CPU (the mask is restored only after the ioctl:
 *               the thread runs meanwhile with one CPU, which guardian must not allow)
 *   read        no emulation: every access/openat path is read (as above), then CONTINUE: the
 *               floor of any decision on a path, for syscall_loop's access()
 * The floor of an emulated open on this machine, beside CONTINUE (the default).
 * usage: unotify_min [--ptrace] [--open=MODE] COMMAND [ARG...] */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_ADDFD_FLAG_SEND
#define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1UL
#endif

static const int kTrapped[] = {__NR_open, __NR_openat, __NR_stat, __NR_lstat, __NR_access,
                               __NR_newfstatat, __NR_statx, __NR_faccessat, __NR_readlink,
                               __NR_execve, __NR_unlink, __NR_unlinkat, __NR_mkdir, __NR_rename,
                               __NR_connect, __NR_chmod, __NR_utimensat, __NR_readlinkat};
#define NT (int)(sizeof kTrapped / sizeof kTrapped[0])

/* Drains every ptrace stop and exit: resumes stops (group-stops are LISTENed to, as guardian
 * does); returns 1 once `root` has exited, with its status in *st. */
static int drain(pid_t root, int* st) {
  int done = 0, s;
  pid_t p;
  while ((p = waitpid(-1, &s, WNOHANG | __WALL)) > 0) {
    if (WIFSTOPPED(s)) {
      int ev = s >> 16, sig = WSTOPSIG(s);
      if (ev == PTRACE_EVENT_STOP &&
          (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU))
        ptrace(PTRACE_LISTEN, p, 0, 0);
      else
        ptrace(PTRACE_CONT, p, 0, (void*)(long)(ev == 0 ? sig : 0));
    } else if (p == root) {
      *st = s;
      done = 1;
    }
  }
  return done;
}

enum { OPEN_CONT, OPEN_ADDFD, OPEN_HOLD, OPEN_PIN, OPEN_SEND, OPEN_SEND_HOLD, OPEN_BOTH,
       OPEN_READ };

/* Reads the path argument `arg` of `req` into `path` (256 bytes at most) through a kept
 * /proc/PID/mem descriptor, as guardian reads; 0 on success. */
static int read_path(const struct seccomp_notif* req, int arg, char* path) {
  static int memfd = -1;
  static pid_t mempid = -1;
  if (mempid != (pid_t)req->pid) {
    char p[40];
    if (memfd >= 0) close(memfd);
    snprintf(p, sizeof p, "/proc/%d/mem", req->pid);
    memfd = open(p, O_RDONLY | O_CLOEXEC);
    mempid = req->pid;
  }
  ssize_t got = memfd < 0 ? -1 : pread(memfd, path, 256, (off_t)req->data.args[arg]);
  return got > 0 && memchr(path, 0, (size_t)got) ? 0 : -1;
}

/* Emulates the openat of notification `req` (see the usage above); 0 when answered. */
static int emulate_open(int lfd, const struct seccomp_notif* req, int mode) {
  char path[4096];
  if (read_path(req, 1, path) != 0) return -1; /* long or odd: CONTINUE */
  __u64 id = req->id;
  if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return 0;
  int flags = (int)req->data.args[2];
  if (flags & (O_PATH | O_CREAT)) return -1;
  struct seccomp_notif_resp resp;
  memset(&resp, 0, sizeof resp);
  resp.id = req->id;
  int fd = openat((int)req->data.args[0] == AT_FDCWD ? AT_FDCWD : -1, path, flags | O_CLOEXEC);
  if (fd < 0) {
    resp.error = -errno;
    ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    return 0;
  }
  struct seccomp_notif_addfd add;
  memset(&add, 0, sizeof add);
  add.id = req->id;
  add.srcfd = (__u32)fd;
  add.newfd_flags = flags & O_CLOEXEC;
  add.flags = mode == OPEN_SEND || mode == OPEN_SEND_HOLD ? SECCOMP_ADDFD_FLAG_SEND : 0;
  cpu_set_t old, one;
  int held = 0;
  static cpu_set_t mine;
  static int mine_known;
  if (!mine_known) mine_known = sched_getaffinity(0, sizeof mine, &mine) == 0;
  if (mode == OPEN_HOLD || mode == OPEN_PIN || mode == OPEN_SEND_HOLD || mode == OPEN_BOTH) {
    int cpu = sched_getcpu();
    if (mode == OPEN_PIN) {
      CPU_ZERO(&old);
      for (int i = 0; i < 2; i++) CPU_SET(i, &old);
    } else if (sched_getaffinity(req->pid, sizeof old, &old) != 0) {
      cpu = -1;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    held = cpu >= 0 && sched_setaffinity(req->pid, sizeof one, &one) == 0;
  }
  int self_held = held && mode == OPEN_BOTH && sched_setaffinity(0, sizeof one, &one) == 0;
  int remote = ioctl(lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
  if (self_held) sched_setaffinity(0, sizeof mine, &mine);
  if (held) sched_setaffinity(req->pid, sizeof old, &old);
  close(fd);
  if (add.flags & SECCOMP_ADDFD_FLAG_SEND) return 0;
  if (remote < 0) resp.error = -errno;
  else resp.val = remote;
  ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  return 0;
}

int main(int argc, char** argv) {
  int trace = 0, open_mode = OPEN_CONT;
  for (;;) {
    if (argc > 1 && strcmp(argv[1], "--ptrace") == 0) {
      trace = 1;
    } else if (argc > 1 && strncmp(argv[1], "--open=", 7) == 0) {
      static const char* const names[] = {"cont", "addfd", "addfd-hold", "addfd-pin", "send",
                                          "send-hold", "addfd-both", "read"};
      int i = 0;
      while (i < 8 && strcmp(argv[1] + 7, names[i]) != 0) i++;
      if (i == 8) return 2;
      open_mode = i;
    } else {
      break;
    }
    argv++;
    argc--;
  }
  if (argc < 2) return 2;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sfd = -1;
  if (trace) {
    sigprocmask(SIG_BLOCK, &chld, NULL);
    sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  struct sock_filter f[4 + NT * 2 + 2];
  int k = 0;
  f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (int i = 0; i < NT; i++) {
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kTrapped[i], 0, 1);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
  }
  f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {(unsigned short)k, f};
  int up[2], down[2];
  if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC)) return 125;
  pid_t pid = fork();
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int l = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (l < 0) _exit(125);
    if (write(up[1], &l, sizeof l) != sizeof l) _exit(125);
    char c;
    if (read(down[0], &c, 1) != 1) _exit(125);
    close(l);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int num;
  if (read(up[0], &num, sizeof num) != sizeof num) return 125;
  int pidfd = (int)syscall(__NR_pidfd_open, pid, 0);
  int lfd = (int)syscall(__NR_pidfd_getfd, pidfd, num, 0);
  if (lfd < 0) return 125;
  __u64 fl = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, fl);
  long opts = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
              PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
  if (trace && ptrace(PTRACE_SEIZE, pid, 0, (void*)opts) != 0) return 125;
  if (write(down[1], "x", 1) != 1) return 125;
  struct seccomp_notif_sizes sz;
  syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz);
  struct seccomp_notif* req = calloc(1, sz.seccomp_notif + 64);
  struct seccomp_notif_resp resp;
  int st = 0;
  for (;;) {
    struct pollfd p[2] = {{lfd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, trace ? 2 : 1, -1) < 0 && errno != EINTR) break;
    if (trace && (p[1].revents & POLLIN)) {
      struct signalfd_siginfo si[8];
      if (read(sfd, si, sizeof si) < 0 && errno != EAGAIN) break;
      if (drain(pid, &st)) goto out;
    }
    if (p[0].revents & POLLIN) {
      memset(req, 0, sz.seccomp_notif);
      if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) continue;
      if (open_mode == OPEN_READ && (req->data.nr == __NR_access || req->data.nr == __NR_openat)) {
        char path[256];
        read_path(req, req->data.nr == __NR_access ? 0 : 1, path);
      } else if (open_mode != OPEN_CONT && req->data.nr == __NR_openat &&
                 emulate_open(lfd, req, open_mode) == 0) {
        continue;
      }
      memset(&resp, 0, sizeof resp);
      resp.id = req->id;
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      if (!trace) break;
      lfd = -1;  /* poll skips it; the exits come through the signalfd */
    }
  }
  waitpid(pid, &st, 0);
out:
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
