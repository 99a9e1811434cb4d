/* vfork as shells, posix_spawn and build tools use it, in the shapes the tracer must keep a
 * vfork parent for (session/tracer.cpp holds it in its vfork event stop until the child
 * execs or exits): a child that exits without exec, one whose exec is refused, one that
 * forks before it exits, and posix_spawn from several threads at once. One line per case:
 * NAME:STATUS. usage: vfork_probe DENIED_PROGRAM */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;
static const char* denied;

static int status_of(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int vfork_case(int what) {
  pid_t pid = vfork();
  if (pid == 0) {
    if (what == 0) _exit(7);
    if (what == 1) {
      char* a[] = {"true", NULL};
      execve("/usr/bin/true", a, environ);
      _exit(100 + errno);
    }
    if (what == 2) {
      char* a[] = {"denied", NULL};
      execve(denied, a, environ);
      _exit(100 + errno);
    }
    /* A grandchild made from the vfork child (raw fork: no libc state touched). */
    long g = syscall(SYS_fork);
    if (g == 0) _exit(4);
    int st = 0;
    if (g < 0 || syscall(SYS_wait4, (pid_t)g, &st, 0, NULL) != g) _exit(99);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 98);
  }
  return pid < 0 ? -1 : status_of(pid);
}

static void* spawner(void* arg) {
  int* bad = arg;
  for (int i = 0; i < 10; ++i) {
    pid_t pid;
    char* a[] = {"true", NULL};
    if (posix_spawn(&pid, "/usr/bin/true", NULL, NULL, a, environ) != 0 || status_of(pid) != 0)
      __atomic_add_fetch(bad, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  denied = argv[1];
  printf("exit-without-exec:%d\n", vfork_case(0));
  printf("exec:%d\n", vfork_case(1));
  printf("exec-of-denied:%d\n", vfork_case(2));
  printf("fork-in-vfork-child:%d\n", vfork_case(3));
  int bad = 0;
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, spawner, &bad);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  printf("posix_spawn-from-4-threads-failures:%d\n", bad);
  return 0;
}
