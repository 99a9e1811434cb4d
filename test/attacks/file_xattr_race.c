/* Escape attempt: read a denied file's extended attributes (the runner gives the secret a
 * user.token attribute holding its token). Plainly, then with a thread rewriting the path
 * buffer between an allowed file (whose only attribute is user.harmless) and the secret for ~2 s while the main thread calls
 * getxattr, lgetxattr, getxattrat (Linux 6.13) and listxattr on it: a check that lets the
 * kernel read the path again afterwards loses the race. Prints every value read from a
 * file other than the readable one; exits 1 when something came out. */
#include "attack.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

static char buf_path[4096];
static char OK[2300];
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  size_t n = strlen(OK) + 1, m = strlen(SECRET) + 1;
  while (!stop) {
    memcpy(buf_path, SECRET, m);
    __asm__ volatile("" ::: "memory");
    memcpy(buf_path, OK, n);
    __asm__ volatile("" ::: "memory");
  }
  return NULL;
}

static long leaks = 0;
static void got(const char* how, const char* v, ssize_t n) {
  if (n <= 0) return;
  /* The readable file has user.harmless only: any user.token came from the secret. */
  if (!strstr(how, "list") || memmem(v, (size_t)n, "user.token", 10) != NULL) {
    ++leaks;
    fprintf(stderr, "%s: LEAKED\n", how);
    fwrite(v, 1, (size_t)n, stdout);
    fputc('\n', stdout);
  }
}

struct xattr_args_ { unsigned long long value; unsigned size, flags; };

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(OK, sizeof OK, "%s/ro.txt", RO);
  char v[256];
  got("getxattr", v, getxattr(SECRET, "user.token", v, sizeof v));
  got("listxattr", v, listxattr(SECRET, v, sizeof v));
  memcpy(buf_path, OK, strlen(OK) + 1);
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long calls = 0;
  for (double end = now() + 2; now() < end && leaks < 8; ++calls) {
    got("getxattr race", v, getxattr(buf_path, "user.token", v, sizeof v));
    got("lgetxattr race", v, lgetxattr(buf_path, "user.token", v, sizeof v));
    struct xattr_args_ xa = {.value = (unsigned long long)(uintptr_t)v, .size = sizeof v};
    got("getxattrat race", v, syscall(464, AT_FDCWD, buf_path, 0, "user.token", &xa, sizeof xa));
    got("listxattr race", v, listxattr(buf_path, v, sizeof v));
  }
  stop = 1;
  pthread_join(th, NULL);
  fprintf(stderr, "file_xattr_race: %ld rounds, %ld leaks\n", calls, leaks);
  return leaks ? 1 : 0;
}
