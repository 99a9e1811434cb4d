/* Escape attempt: send SIGTERM to a process outside the session.
 * Exit 0 when the kernel accepted the signal (the escape worked), 1 with the errno otherwise. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  pid_t pid = (pid_t)atoi(argv[1]);
  if (kill(pid, SIGTERM) != 0) {
    fprintf(stderr, "ll_kill: kill %d: %s\n", (int)pid, strerror(errno));
    return 1;
  }
  return 0;
}
