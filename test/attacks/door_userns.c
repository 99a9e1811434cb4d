/* A new user namespace (then a mount namespace) would let the session re-root its view of
 * the file system under the supervisor's path decisions. Tried through unshare() and clone(). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "door.h"

int main(void) {
  int opened_any = 0;
  pid_t c = fork();
  if (c == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 1 : 0);
  int st;
  waitpid(c, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 1) { printf("unshare(CLONE_NEWUSER) worked\n"); opened_any = 1; }
  c = fork();
  if (c == 0) _exit(unshare(CLONE_NEWNS) == 0 ? 1 : 0);
  waitpid(c, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 1) { printf("unshare(CLONE_NEWNS) worked\n"); opened_any = 1; }
  /* raw clone: child exits at once in the new namespace */
  long r = syscall(__NR_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) { waitpid((pid_t)r, &st, 0); printf("clone(CLONE_NEWUSER) worked\n"); opened_any = 1; }
  r = syscall(__NR_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) { waitpid((pid_t)r, &st, 0); printf("clone(CLONE_NEWNET) worked\n"); opened_any = 1; }
  if (opened_any) opened("a new namespace was created");
  closed("unshare/clone with namespace flags refused (%s)", strerror(errno));
}
