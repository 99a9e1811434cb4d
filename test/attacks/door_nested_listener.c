/* A nested seccomp filter with its own listener would take the supervisor's notifications
 * (the newest listener wins): it must be refused, while a plain nested filter still works.
 * The attack's effect: with its own listener the program answers its own openat. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "door.h"

int main(void) {
  struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  struct sock_fprog prog = {1, allow};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) skip("no_new_privs: %s", strerror(errno));
  long fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd >= 0) opened("got a nested listener (fd %ld)", fd);
  int err = errno;
  /* A plain nested filter must still be accepted (Chrome, systemd units use them). */
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    printf("FAIL: a plain nested filter was refused: %s\n", strerror(errno));
    return 3;
  }
  closed("nested listener refused: %s; plain nested filter accepted", strerror(err));
}
