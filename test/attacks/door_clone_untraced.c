/* clone(CLONE_UNTRACED) makes a task the supervisor's tracer is not told about. A thread
 * made so would be one the process table does not count (and a descriptor table deemed
 * private would not be): it must be refused. A process made so (LeakSanitizer's tracer
 * task at the exit of every -fsanitize=address program) is a hand-over under the seccomp
 * backend and refused under ptrace (guardian(1), Tracing inside a session): either way it
 * must not escape supervision. The door opens when such a process writes a file outside
 * what the profile lets the session write (run_door.sh's profile: only below its scratch
 * directory, argv[1]'s parent), or when an untraced thread is made. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "door.h"

static char stack[64 * 1024] __attribute__((aligned(16)));
static volatile int ran;

static int thread_body(void* arg) {
  (void)arg;
  ran = 1;
  syscall(SYS_exit, 0); /* this thread only */
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) skip("usage: door_clone_untraced SCRATCH");
  /* Two levels above the scratch directory: outside the profile's write rules. */
  char outside[PATH_MAX];
  snprintf(outside, sizeof outside, "%s", argv[1]);
  for (int up = 0; up < 2; ++up) {
    char* slash = strrchr(outside, '/');
    if (!slash || slash == outside) skip("no directory above %s", argv[1]);
    *slash = '\0';
  }
  size_t len = strlen(outside);
  snprintf(outside + len, sizeof outside - len, "/door-untraced-%d", (int)getpid());

  int st = 0;
  long r = syscall(__NR_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) {
    int fd = open(outside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    _exit(fd >= 0 ? 1 : 0);
  }
  int e = r < 0 ? errno : 0;
  if (r > 0) {
    waitpid((pid_t)r, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1) {
      unlink(outside);
      opened("a process made with CLONE_UNTRACED wrote %s", outside);
    }
  }
  int fl = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
           CLONE_UNTRACED;
  if (clone(thread_body, stack + sizeof stack, fl, NULL) > 0) {
    for (int i = 0; i < 1000 && !ran; ++i) usleep(1000);
    opened("clone(CLONE_UNTRACED|CLONE_THREAD) made a thread");
  }
  closed("a CLONE_UNTRACED process %s; an untraced thread refused (%s)",
         r < 0 ? strerror(e) : "stayed under the profile", strerror(errno));
}
