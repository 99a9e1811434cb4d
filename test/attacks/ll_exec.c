/* Escape attempt: execute a program planted where the profile allows writing but not exec.
 * Exit 1 with the errno when execve failed; on success the planted program runs instead. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  execv(argv[1], argv + 1);
  fprintf(stderr, "ll_exec: execve %s: %s\n", argv[1], strerror(errno));
  return 1;
}
