/* Escape attempt: have the kernel write a file inside a protected directory of the
 * writable tree. The Landlock envelope lets the session write all of T/ws, the repository's
 * hooks included (deny_write is the supervisor's alone), and a core dump is written by the
 * kernel with no system call to decide, into the dumping process's current directory:
 * raise RLIMIT_CORE, chdir into T/ws/.git/hooks (where making "core" itself is refused)
 * and crash a child. The runner checks the hooks are unchanged. Exit 1 when a core was
 * dumped there. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "attack.h"

int main(int argc, char** argv) {
  fixture(argc, argv);
  char hooks[2300];
  snprintf(hooks, sizeof hooks, "%s/.git/hooks", WS);
  struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_CORE, &inf) != 0) {
    struct rlimit cur;
    getrlimit(RLIMIT_CORE, &cur);
    inf.rlim_cur = cur.rlim_max;
    setrlimit(RLIMIT_CORE, &inf);
  }
  if (chdir(hooks) != 0) fprintf(stderr, "chdir %s: %s\n", hooks, strerror(errno));
  /* What the program itself may not do there (refused and recorded): make a file. */
  int direct = open("core", O_WRONLY | O_CREAT | O_EXCL, 0644);
  pid_t p = fork();
  if (p == 0) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    _exit(0);
  }
  int st = 0;
  waitpid(p, &st, 0);
  int dumped = WIFSIGNALED(st) && WCOREDUMP(st);
  if (direct >= 0 || access("core", F_OK) == 0) dumped = 1;
  printf("file_core_hooks: %s\n", dumped ? "A CORE WAS DUMPED IN THE HOOKS" : "no core");
  return dumped;
}
