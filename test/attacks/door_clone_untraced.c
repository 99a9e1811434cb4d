/* clone(CLONE_UNTRACED) makes a task the supervisor's tracer is not told about: a process
 * whose exec would go unverified, or a thread the process table would not count (and a
 * descriptor table deemed private would not be). Tried for a process and for a thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
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

int main(void) {
  int st;
  long r = syscall(__NR_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) { waitpid((pid_t)r, &st, 0); opened("clone(CLONE_UNTRACED) made a process"); }
  int e = errno;
  int fl = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
           CLONE_UNTRACED;
  if (clone(thread_body, stack + sizeof stack, fl, NULL) > 0) {
    for (int i = 0; i < 1000 && !ran; ++i) usleep(1000);
    opened("clone(CLONE_UNTRACED|CLONE_THREAD) made a thread");
  }
  closed("clone with CLONE_UNTRACED refused (%s, %s)", strerror(e), strerror(errno));
}
