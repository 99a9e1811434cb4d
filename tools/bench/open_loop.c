/* Microbenchmark workload: N open(PATH, O_RDONLY|O_CLOEXEC) + close (an emulated open under
 * guardian: the supervisor opens and injects the descriptor); prints nanoseconds per pair.
 * usage: open_loop [N] [PATH] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
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
