/* Escape attempt: have the kernel write a file where the profile allows none. A core dump
 * is written by the kernel, with no system call to decide, into the dumping process's
 * current directory: raise RLIMIT_CORE, chdir into the read-only T/ro (where creating
 * "core" itself is refused) and crash a child. The runner checks T/ro is unchanged. Exit 1
 * when a core was dumped. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "attack.h"

int main(int argc, char** argv) {
  fixture(argc, argv);
  struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_CORE, &inf) != 0) {
    struct rlimit cur;
    getrlimit(RLIMIT_CORE, &cur);
    inf.rlim_cur = cur.rlim_max;
    setrlimit(RLIMIT_CORE, &inf);
  }
  if (chdir(RO) != 0) fprintf(stderr, "chdir %s: %s\n", RO, strerror(errno));
  /* What the program itself may not do there (refused and recorded): make a file. */
  int direct = open("core", O_WRONLY | O_CREAT | O_EXCL, 0644);
  pid_t p = fork();
  if (p == 0) {
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  int st = 0;
  waitpid(p, &st, 0);
  int dumped = WIFSIGNALED(st) && WCOREDUMP(st);
  if (direct >= 0 || access("core", F_OK) == 0) dumped = 1;
  printf("file_core_dump: %s\n", dumped ? "A CORE WAS DUMPED" : "no core");
  return dumped;
}
