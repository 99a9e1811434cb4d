/* Escape attempt: act on a process outside the session (ATTACK_VICTIM, started by the
 * runner): signal it by kill, tgkill, its process group and a pidfd, ptrace-attach it,
 * write its memory, steal its descriptors, starve it (prlimit, nice 19, SCHED_IDLE, one
 * CPU, the idle I/O class), and make it the owner of a pipe or socket whose I/O signal is
 * SIGKILL (F_SETOWN, F_SETOWN_EX, FIOSETOWN, SIOCSPGRP with F_SETSIG), compare its
 * descriptors and memory with ours (kcmp), and move its pages between NUMA nodes
 * (migrate_pages, move_pages). The runner checks it is still alive, untraced, and
 * scheduled as before. */
#include "attack.h"
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>

int main(int argc, char** argv) {
  fixture(argc, argv);
  pid_t v = (pid_t)atoi(env_or("ATTACK_VICTIM", "0"));
  if (v <= 0) return 2;
  int worked = 0;
  if (kill(v, SIGKILL) == 0) worked = 1;
  if (syscall(SYS_tgkill, v, v, SIGKILL) == 0) worked = 1;
  if (kill(-getpgid(v), SIGKILL) == 0 && getpgid(v) != getpgrp()) worked = 1;
  int pfd = (int)syscall(SYS_pidfd_open, v, 0);
  if (pfd >= 0 && syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0) worked = 1;
  if (pfd >= 0 && syscall(SYS_pidfd_getfd, pfd, 0, 0) >= 0) worked = 1;
  if (ptrace(PTRACE_ATTACH, v, 0, 0) == 0) worked = 1;
  char b[8] = {0};
  struct iovec l = {b, sizeof b}, r = {(void*)0x400000, sizeof b};
  if (process_vm_writev(v, &l, 1, &r, 1, 0) > 0) worked = 1;
  struct rlimit zero = {0, 0};
  if (prlimit(v, RLIMIT_CPU, &zero, NULL) == 0) worked = 1;
  /* The owner of a descriptor gets its I/O signal: SIGKILL, by F_SETSIG. */
  for (int how = 0; how < 4; ++how) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) break;
    struct f_owner_ex ex = {F_OWNER_PID, v};
    int own = how == 3 ? -getpgid(v) : v, set = -1;
    if (how == 0) set = fcntl(sv[0], F_SETOWN, v);
    if (how == 1) set = fcntl(sv[0], F_SETOWN_EX, &ex);
    if (how == 2) set = ioctl(sv[0], FIOSETOWN, &own);
    if (how == 3) set = getpgid(v) != getpgrp() ? ioctl(sv[0], SIOCSPGRP, &own) : -1;
    fcntl(sv[0], F_SETSIG, SIGKILL);
    fcntl(sv[0], F_SETFL, O_ASYNC | O_NONBLOCK);
    (void)!write(sv[1], "x", 1);
    if (set == 0 && fcntl(sv[0], F_GETOWN) != 0) worked = 1;
    close(sv[0]);
    close(sv[1]);
  }
  /* Starve it: nice 19, SCHED_IDLE, one CPU, idle I/O class (as prlimit would). */
  if (setpriority(PRIO_PROCESS, (id_t)v, 19) == 0) worked = 1;
  struct sched_param sp = {0};
  if (sched_setscheduler(v, SCHED_IDLE, &sp) == 0) worked = 1;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (sched_setaffinity(v, sizeof one, &one) == 0) worked = 1;
  if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, v, 3 << 13 /* IOPRIO_CLASS_IDLE */) == 0) worked = 1;
  /* kcmp answers 0, 1 or 2 (an ordering) when allowed: whether the outsider shares our
   * files or memory is not the session's to know. */
  if (syscall(SYS_kcmp, getpid(), v, 0 /* KCMP_FILE */, 0, 0) >= 0) worked = 1;
  if (syscall(SYS_kcmp, v, getpid(), 2 /* KCMP_VM */, 0, 0) >= 0) worked = 1;
  /* Its pages: migrate_pages from node 0 to node 0 returns how many did not move, and
   * move_pages with no target nodes reports where each page lives. */
  unsigned long node0 = 1;
  if (syscall(SYS_migrate_pages, v, 8 * sizeof node0, &node0, &node0) >= 0) worked = 1;
  void* page = (void*)0x400000;
  int status = 0;
  if (syscall(SYS_move_pages, v, 1UL, &page, NULL, &status, 0) == 0) worked = 1;
  printf("proc_outsider: %s\n", worked ? "SOMETHING WORKED" : "all refused");
  return worked;
}
