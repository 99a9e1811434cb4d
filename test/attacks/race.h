/* The open race shared by the path-buffer attacks (file_path_race, file_sealed_page): a
 * thread runs `flipper` until *stop while the main thread opens `path` with a raw openat
 * for ~2 s; whatever reads other than the readable fixture file ("READONLY") is printed.
 * Returns 1 when something else came out. */
#pragma once
#include "attack.h"
#include <pthread.h>
#include <sys/syscall.h>

static int race_opens(const char* who, const char* path, void* (*flipper)(void*),
                      volatile int* stop) {
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long opens = 0, leaks = 0;
  char buf[256];
  for (double end = now() + 2; now() < end;) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (fd < 0) continue;
    ++opens;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strncmp(buf, "READONLY", 8) != 0) { ++leaks; fwrite(buf, 1, (size_t)n, stdout); }
  }
  *stop = 1;
  pthread_join(th, NULL);
  fprintf(stderr, "%s: %ld opens, %ld leaks\n", who, opens, leaks);
  return leaks ? 1 : 0;
}
