/* Escape attempt: a thread flips a symlink in the writable directory between an allowed
 * file and the secret for ~2 s while the main thread opens and reads through it. */
#include "attack.h"
#include <pthread.h>

static char LINK[2300], TMP[2300], OK[2300];
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    unlink(TMP);
    if (symlink(SECRET, TMP) == 0) rename(TMP, LINK);
    unlink(TMP);
    if (symlink(OK, TMP) == 0) rename(TMP, LINK);
  }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(LINK, sizeof LINK, "%s/link", WS);
  snprintf(TMP, sizeof TMP, "%s/link.tmp", WS);
  snprintf(OK, sizeof OK, "%s/ro.txt", RO);
  symlink(OK, LINK);
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long opens = 0, leaks = 0;
  char buf[256];
  for (double end = now() + 2; now() < end;) {
    int fd = open(LINK, O_RDONLY);
    if (fd < 0) continue;
    ++opens;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      if (strncmp(buf, "READONLY", 8) != 0) { ++leaks; fwrite(buf, 1, (size_t)n, stdout); }
    }
  }
  stop = 1;
  pthread_join(th, NULL);
  fprintf(stderr, "file_symlink_race: %ld opens, %ld leaks\n", opens, leaks);
  return leaks ? 1 : 0;
}
