/* Escape attempt: outlive the session through a process guardian no longer traces. A
 * child asks to be traced by its parent (PTRACE_TRACEME: guardian hands it over, as it
 * does for strace), then starts a grandchild of its own that leaves the tree (setsid and
 * a double fork): neither is a tracee of guardian, so PTRACE_O_EXITKILL does not end them,
 * and guardian never sees the grandchild's fork. Both keep appending a line to
 * PREFIX.c / PREFIX.d (first line: their pid) every 50 ms for 30 s. The parent waits for
 * ever (`wait`: the runner SIGKILLs guardian) or exits after 0.5 s (`exit`: the session
 * ends). The runner checks that both files stop growing and both pids are gone. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static void tick(const char* prefix, const char* suffix, const char* note) {
  char p[4096];
  snprintf(p, sizeof p, "%s.%s", prefix, suffix);
  int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) _exit(2);
  dprintf(fd, "pid %d %s\n", (int)getpid(), note);
  for (int i = 0; i < 600; ++i) {
    dprintf(fd, "tick %d\n", i);
    usleep(50000);
  }
  _exit(0);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const char* prefix = argv[1];
  int wait_forever = strcmp(argv[2], "wait") == 0;
  pid_t c = fork();
  if (c == 0) {
    long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
    char note[64];
    snprintf(note, sizeof note, "traceme=%s", r == 0 ? "ok" : strerror(errno));
    pid_t d = fork();
    if (d == 0) {
      setsid();
      if (fork() != 0) _exit(0);
      tick(prefix, "d", note);
    }
    waitpid(d, NULL, 0);
    tick(prefix, "c", note);
  }
  /* The tracer's part: let the child run whatever stops it reports. */
  double waited = 0;
  for (;;) {
    int st;
    pid_t w = waitpid(c, &st, wait_forever ? 0 : WNOHANG);
    if (w == c && WIFSTOPPED(st)) ptrace(PTRACE_CONT, c, 0, WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st));
    else if (w == c) break;
    if (!wait_forever) {
      usleep(10000);
      waited += 0.01;
      if (waited > 0.5) return 0;
    }
  }
  if (wait_forever) pause();
  return 0;
}
