/* clone3 keeps its flags in memory the BPF filter cannot read: it must fail with ENOSYS
 * (so libc falls back to clone) instead of creating a namespace. */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "door.h"

int main(void) {
  struct clone_args a;
  memset(&a, 0, sizeof a);
  a.flags = CLONE_NEWUSER;
  a.exit_signal = SIGCHLD;
  long r = syscall(__NR_clone3, &a, sizeof a);
  if (r == 0) _exit(0);
  if (r > 0) {
    waitpid((pid_t)r, NULL, 0);
    opened("clone3(CLONE_NEWUSER) created a process");
  }
  if (errno == ENOSYS) closed("clone3: ENOSYS");
  skip("clone3: %s", strerror(errno));
}
