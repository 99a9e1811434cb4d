/* Escape attempt: a thread flips the execve path between an allowed program (/usr/bin/true)
 * and a forbidden copy of touch for ~2 s; children exec in a loop. If the forbidden one ever
 * runs, it creates T/ws/ran-forbidden-race. */
#include "attack.h"
#include <pthread.h>
#include <sys/wait.h>

static char path[4096], OKP[2300], EVIL[2300], MARK[2400];
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  size_t a = strlen(OKP) + 1, b = strlen(EVIL) + 1;
  while (!stop) { memcpy(path, EVIL, b); memcpy(path, OKP, a); }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(EVIL, sizeof EVIL, "%s/evil", WS);
  snprintf(OKP, sizeof OKP, "/usr/bin/true");
  snprintf(MARK, sizeof MARK, "%s/ran-forbidden-race", WS);
  int in = open("/usr/bin/touch", O_RDONLY), out = open(EVIL, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) if (write(out, buf, (size_t)n) != n) break;
  close(in);
  close(out);
  long runs = 0;
  for (double end = now() + 2; now() < end;) {
    pid_t pid = fork();
    if (pid == 0) {
      memcpy(path, OKP, strlen(OKP) + 1);
      pthread_t th;
      pthread_create(&th, NULL, flipper, NULL);
      char* a[] = {"x", MARK, NULL};
      for (int i = 0; i < 50; ++i) execv(path, a);
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    ++runs;
  }
  fprintf(stderr, "exec_race: %ld children\n", runs);
  return access(MARK, F_OK) == 0;
}
