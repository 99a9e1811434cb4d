/* Escape attempt against the fd-based metadata writes (fchmod, futimens, fsetxattr,
 * fchown): while another task swaps descriptor N (dup2) between a writable file and the
 * read-only one, change N's mode, times and a user xattr for ~1.5 s per round. Rounds:
 * the swapper is a second thread; then a second process sharing the table made with
 * CLONE_UNTRACED too, unseen by the tracer if the kernel lets it be made; then one made by
 * clone with CLONE_FILES, which ptrace reports as a plain fork. The supervisor continues these
 * calls without a copy of the descriptor only when no other task shares the table, so any
 * of these must keep the emulation. Exit 1 when T/ro/ro.txt changed (the runner checks
 * its mode and times too). A first round has no swapper: N names the writable file, then
 * the read-only one. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "attack.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>

static int fd_ok, fd_ro;
static volatile int stop;
enum { N = 50 };
static char ro[2300];
static const struct timespec kOld[2] = {{978307200, 0}, {978307200, 0}};  /* 2001-01-01 */

static void swap_loop(void) {
  while (!stop) {
    dup2(fd_ro, N);
    dup2(fd_ok, N);
  }
}
static void* swap_thread(void* arg) { (void)arg; swap_loop(); return NULL; }
static int swap_task(void* arg) { (void)arg; swap_loop(); return 0; }

/* The calls on N for ~1.5 s; how many succeeded. */
static long hammer(void) {
  long ok = 0;
  for (double end = now() + 1.5; now() < end;) {
    ok += syscall(SYS_fchmod, N, 0666) == 0;
    ok += syscall(SYS_utimensat, N, NULL, kOld, 0) == 0;
    ok += fsetxattr(N, "user.pwned", "1", 1, 0) == 0;
    ok += fchown(N, getuid(), getgid()) == 0;
  }
  return ok;
}

static int changed(const struct stat* before) {
  struct stat st;
  char v[8];
  if (stat(ro, &st) != 0) return 1;
  return st.st_mode != before->st_mode || st.st_mtim.tv_sec != before->st_mtim.tv_sec ||
         getxattr(ro, "user.pwned", v, sizeof v) >= 0;
}

/* A round against a task made by clone(flags) that shares our descriptor table. */
static int shared_round(const char* what, int flags, const struct stat* before) {
  static char stack[256 * 1024] __attribute__((aligned(16)));
  stop = 0;
  /* CLONE_VM: the child sees `stop`; it runs only swap_loop (dup2 and a flag). */
  pid_t c = clone(swap_task, stack + sizeof stack, flags | CLONE_VM | SIGCHLD, NULL);
  if (c < 0) {
    fprintf(stderr, "file_fd_meta_swap: %s: clone refused (%s)\n", what, strerror(errno));
    return 0;
  }
  long ok = hammer();
  stop = 1;
  waitpid(c, NULL, __WALL);
  fprintf(stderr, "file_fd_meta_swap: %s: %ld calls succeeded\n", what, ok);
  return changed(before);
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char ok[2300];
  snprintf(ok, sizeof ok, "%s/ok.txt", WS);
  snprintf(ro, sizeof ro, "%s/ro.txt", RO);
  fd_ok = open(ok, O_RDWR | O_CREAT, 0644);
  fd_ro = open(ro, O_RDONLY);
  if (fd_ok < 0 || fd_ro < 0) { perror("open"); return 2; }
  struct stat before;
  if (fstat(fd_ro, &before) != 0) return 2;
  dup2(fd_ok, N);

  /* Alone first (no other task shares the table: the supervisor continues these calls,
   * deciding on /proc/TID/fd/N, which it reads through a held link once read twice): N
   * names the writable file for a while, then the read-only one. */
  for (int i = 0; i < 4; ++i) syscall(SYS_fchmod, N, 0644);
  dup2(fd_ro, N);
  long alone = (syscall(SYS_fchmod, N, 0666) == 0) + (syscall(SYS_utimensat, N, NULL, kOld, 0) == 0) +
               (fsetxattr(N, "user.pwned", "1", 1, 0) == 0) + (fchown(N, getuid(), getgid()) == 0);
  fprintf(stderr, "file_fd_meta_swap: alone: %ld calls succeeded\n", alone);
  if (changed(&before)) {
    fprintf(stderr, "file_fd_meta_swap: read-only file CHANGED\n");
    return 1;
  }
  dup2(fd_ok, N);

  pthread_t th;
  pthread_create(&th, NULL, swap_thread, NULL);
  long n = hammer();
  stop = 1;
  pthread_join(th, NULL);
  fprintf(stderr, "file_fd_meta_swap: thread: %ld calls succeeded\n", n);
  int bad = changed(&before);
  /* Untraced first: the CLONE_FILES round leaves this process marked as sharing for good. */
  if (!bad) bad = shared_round("CLONE_FILES|CLONE_UNTRACED process", CLONE_FILES | CLONE_UNTRACED, &before);
  if (!bad) bad = shared_round("CLONE_FILES process", CLONE_FILES, &before);
  fprintf(stderr, "file_fd_meta_swap: read-only file %s\n", bad ? "CHANGED" : "intact");
  return bad;
}
