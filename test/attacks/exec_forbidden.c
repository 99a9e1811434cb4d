/* Escape attempt: run a program the profile does not allow: a copy of touch in the
 * writable directory, by execve, by execveat of a descriptor, by fexecve of a memfd, a
 * script whose #! interpreter is not allowed, and through the dynamic loader run as a
 * program (/usr/bin/ld.so PROG). Each would create T/ws/ran-forbidden-*. */
#include "attack.h"
#include <sys/syscall.h>
#include <sys/wait.h>

static void copy(const char* from, int to) {
  int f = open(from, O_RDONLY);
  char buf[65536];
  ssize_t n;
  while ((n = read(f, buf, sizeof buf)) > 0)
    if (write(to, buf, (size_t)n) != n) break;
  close(f);
}

static void attempt(const char* how, void (*fn)(char* marker)) {
  char marker[2400];
  snprintf(marker, sizeof marker, "%s/ran-forbidden-%s", WS, how);
  pid_t pid = fork();
  if (pid == 0) { fn(marker); fprintf(stderr, "%s: %s\n", how, strerror(errno)); _exit(0); }
  int st;
  waitpid(pid, &st, 0);
}

static char evil[2300], script[2300], interp[2300];
static void by_execve(char* m) { char* a[] = {"touch", m, NULL}; execv(evil, a); }
static void by_execveat(char* m) {
  char* a[] = {"touch", m, NULL};
  int fd = open(evil, O_PATH);
  syscall(SYS_execveat, fd, "", a, environ, AT_EMPTY_PATH);
}
static void by_memfd(char* m) {
  char* a[] = {"touch", m, NULL};
  int fd = (int)syscall(SYS_memfd_create, "evil", 0);
  copy("/usr/bin/touch", fd);
  syscall(SYS_execveat, fd, "", a, environ, AT_EMPTY_PATH);
}
static void by_script(char* m) { char* a[] = {script, m, NULL}; execv(script, a); }
/* The dynamic loader run as a program loads the program it names by open and mmap: the
 * kernel only ever loads the loader, which /usr/bin/ld.so makes an allowed program. */
static void by_ldso(char* m) { char* a[] = {"ld.so", evil, m, NULL}; execv("/usr/bin/ld.so", a); }

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(evil, sizeof evil, "%s/evil", WS);
  snprintf(interp, sizeof interp, "%s/interp", WS);
  snprintf(script, sizeof script, "%s/allowed-script", WS);
  int fd = open(evil, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  copy("/usr/bin/touch", fd);
  close(fd);
  fd = open(interp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  copy("/usr/bin/touch", fd);
  close(fd);
  /* allowed-script is allowed by the profile; its interpreter (a copy of touch) is not. */
  FILE* f = fopen(script, "w");
  if (f) { fprintf(f, "#!%s\n", interp); fclose(f); chmod(script, 0755); }
  attempt("execve", by_execve);
  attempt("execveat", by_execveat);
  attempt("memfd", by_memfd);
  attempt("shebang", by_script);
  if (access("/usr/bin/ld.so", X_OK) == 0) attempt("ldso", by_ldso);
  return 0;
}
