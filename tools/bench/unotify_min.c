/* The minimal supervisor the benchmark compares guardian against: the same kind of listener
 * (user notification for access/faccessat/faccessat2/newfstatat/openat..., SYNC_WAKE_UP) that
 * answers every notification with CONTINUE and does nothing else.
 * With --ptrace it also traces the tree for events only, with guardian's options (exec, fork,
 * vfork, clone, EXITKILL), from the same poll loop through a signalfd, and resumes every
 * stop at once: the floor of guardian's design (exec checked at PTRACE_EVENT_EXEC, every
 * process known), without any of its work.
 * usage: unotify_min [--ptrace] COMMAND [ARG...] */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
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

int main(int argc, char** argv) {
  int trace = argc > 1 && strcmp(argv[1], "--ptrace") == 0;
  if (trace) {
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
