/* Joining a namespace: setns with a descriptor of a namespace (here the caller's own
 * network namespace, so that natively, as root, it succeeds and changes nothing) and with
 * a pidfd. A namespace descriptor received from outside the session would move it into a
 * view of files or network that guardian's decisions were not made in; under guardian
 * every setns must be refused (EPERM) before the kernel acts on it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "door.h"

int main(void) {
  int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (ns < 0) skip("cannot open /proc/self/ns/net: %s", strerror(errno));
  int reached = 0;
  if (setns(ns, CLONE_NEWNET) == 0) reached++;
  else if (errno != EPERM) skip("setns(ns fd): %s", strerror(errno));
  int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (pfd >= 0 && setns(pfd, CLONE_NEWNET) == 0) reached++;
  if (reached) opened("setns joined a namespace %d time(s)", reached);
  closed("setns refused with EPERM");
}
