/* Shared conventions of the file_*, net_*, exec_*, proc_* attack programs (decode room).
 * argv[1] is the fixture directory T made by test/integration/run_attack.sh:
 *   T/ws      writable by the profile       T/ro/ro.txt  readable only
 *   T/secret/secret.txt  allowed nowhere (holds a random token)
 * The runner checks the real effect (token never printed, T/ro and the secret unchanged,
 * no forbidden program ran, listeners got nothing, the victim lives) and the audit log.
 * Programs print whatever they manage to read; exit 1 when they saw the escape work. */
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char T[2048], WS[2200], RO[2200], SECRET[2200];

static void fixture(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]); exit(2); }
  snprintf(T, sizeof T, "%s", argv[1]);
  snprintf(WS, sizeof WS, "%s/ws", T);
  snprintf(RO, sizeof RO, "%s/ro", T);
  snprintf(SECRET, sizeof SECRET, "%s/secret/secret.txt", T);
}

/* Reads fd to stdout; returns bytes read. */
__attribute__((unused)) static long dump(int fd) {
  char buf[4096];
  long total = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    fwrite(buf, 1, (size_t)n, stdout);
    total += n;
  }
  fflush(stdout);
  return total;
}

__attribute__((unused)) static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((unused)) static const char* env_or(const char* name, const char* dflt) {
  const char* v = getenv(name);
  return v && *v ? v : dflt;
}
