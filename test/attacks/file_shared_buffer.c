/* Escape attempt: the path an allowed open names lies in memory that another process of
 * the session changes while the open waits for its decision — a MAP_SHARED page the child
 * writes, then a private mapping of a file the child rewrites (pages of a private file
 * mapping not written by the process show the file as it is now). The opener itself has
 * one thread, so nothing in its own memory races: a supervisor that let the kernel read
 * the path again (CONTINUE) instead of opening what it checked would open the secret.
 * The allowed path is a system file nothing in the session may write (base-files' GPL-3),
 * whose reads a supervisor may leave to the kernel when the path text holds still. */
#include "attack.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char OK[2300];

/* Opens `path` (raw openat) for `secs` seconds; prints what came from the secret. */
static long opens_of(const char* path, double secs, long* opens) {
  long leaks = 0;
  char buf[256];
  for (double end = now() + secs; now() < end;) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (fd < 0) continue;
    ++*opens;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strncmp(buf, "tok-", 4) == 0) {
      ++leaks;
      fwrite(buf, 1, (size_t)n, stdout);
    }
  }
  fflush(stdout);
  return leaks;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(OK, sizeof OK, "%s", "/usr/share/common-licenses/GPL-3");
  if (access(OK, R_OK) != 0) snprintf(OK, sizeof OK, "%s/ro.txt", RO);
  size_t n = strlen(OK) + 1, m = strlen(SECRET) + 1;
  long opens = 0, leaks = 0;

  /* 1. A shared anonymous page. */
  char* shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) { perror("mmap"); return 2; }
  memcpy(shared, OK, n);
  pid_t child = fork();
  if (child == 0) {
    for (;;) {
      memcpy(shared, SECRET, m);
      memcpy(shared, OK, n);
    }
  }
  leaks += opens_of(shared, 1.5, &opens);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);

  /* 2. A private, read-only mapping of a file in the writable tree, rewritten by a child. */
  char file[2400];
  snprintf(file, sizeof file, "%s/pathbuf", WS);
  int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) { perror(file); return 2; }
  if (pwrite(fd, OK, n, 0) != (ssize_t)n || ftruncate(fd, 4096) != 0) { perror("write"); return 2; }
  char* priv = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (priv == MAP_FAILED) { perror("mmap"); return 2; }
  child = fork();
  if (child == 0) {
    for (;;) {
      if (pwrite(fd, SECRET, m, 0) < 0 || pwrite(fd, OK, n, 0) < 0) _exit(0);
    }
  }
  leaks += opens_of(priv, 1.5, &opens);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);

  fprintf(stderr, "file_shared_buffer: %ld opens, %ld leaks\n", opens, leaks);
  return leaks ? 1 : 0;
}
