/* Escape attempt: answer one's own question. Under --ask-socket, what the profile does not
 * allow waits for a client of the socket to answer; a process of the session that reaches
 * the socket (the runner's profile allows connecting to it, as a rule allowing unix sockets
 * in a directory would) connects, has a second thread open the secret, and answers its
 * question "once". guardian performs the session's connects itself, so the socket sees
 * guardian's own process as the peer. argv[1] the secret, argv[2] the ask socket. Exit 1
 * when the secret's bytes came out. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char* secret;
static volatile int got;

static void* reader(void* arg) {
  (void)arg;
  int fd = open(secret, O_RDONLY);
  if (fd < 0) {
    printf("open the secret: %s\n", strerror(errno));
    return NULL;
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) {
    printf("read the secret: %.*s", (int)n, buf);
    got = 1;
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  secret = argv[1];
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
  if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
    printf("connect to the ask socket: %s\n", strerror(errno));
    return 0;
  }
  pthread_t t;
  pthread_create(&t, NULL, reader, NULL);
  char buf[8192];
  size_t have = 0;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > 5 || got) break;
    struct pollfd p = {s, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = read(s, buf + have, sizeof buf - 1 - have);
    if (n <= 0) break;
    have += (size_t)n;
    buf[have] = '\0';
    char* line;
    while ((line = strchr(buf, '\n'))) {
      *line = '\0';
      printf("ask socket: %s\n", buf);
      const char* idp = strstr(buf, "\"type\":\"request\"") ? strstr(buf, "\"id\":") : NULL;
      if (idp) {
        char ans[64];
        int len = snprintf(ans, sizeof ans, "{\"id\":%ld,\"verdict\":\"once\"}\n", strtol(idp + 5, NULL, 10));
        (void)!write(s, ans, (size_t)len);
      }
      size_t used = (size_t)(line - buf) + 1;
      memmove(buf, line + 1, have - used + 1);
      have -= used;
    }
  }
  fflush(stdout);
  _exit(got);
}
