/* Microbenchmark workload: N access(PATH, F_OK) calls (an intercepted, path-taking syscall);
 * prints nanoseconds per call. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  const char* path = argc > 2 ? argv[2] : "/usr/bin/true";
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) access(path, F_OK);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
  printf("%.1f\n", ns / n);
  return 0;
}
