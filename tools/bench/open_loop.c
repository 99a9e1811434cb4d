/* Microbenchmark workload: N open(PATH, O_RDONLY|O_CLOEXEC) + close; prints nanoseconds per
 * pair. Under guardian the process is the session's only task, so its allowed opens are
 * left to the kernel (CONTINUE); with a third argument `thread` a second thread waits
 * meanwhile, which could rewrite the path, so each open is emulated (the supervisor opens
 * and injects the descriptor).
 * usage: open_loop [N] [PATH] [thread] */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

static void* idle(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char** argv) {
  pthread_t th;
  if (argc > 3 && strcmp(argv[3], "thread") == 0 && pthread_create(&th, NULL, idle, NULL) != 0) {
    perror("pthread_create");
    return 1;
  }
  long n = argc > 1 ? atol(argv[1]) : 20000;
  const char* path = argc > 2 ? argv[2] : "/etc/ld.so.cache";
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      perror(path);
      return 1;
    }
    close(fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
  printf("%.1f\n", ns / n);
  return 0;
}
