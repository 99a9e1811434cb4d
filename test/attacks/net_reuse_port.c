/* Escape attempt: take a share of another program's traffic on a port the profile lets
 * the session bind. That program (run_reuse_port.sh) listens on TCP port ATTACK_REUSE_TCP
 * with SO_REUSEPORT and receives on UDP port ATTACK_REUSE_UDP with SO_REUSEADDR and
 * SO_REUSEPORT, as servers that run several workers on one port do. The session binds the
 * same ports with the same options: natively the kernel then deals it part of the
 * connections and datagrams meant for that program. Counts what it gets until
 * ATTACK_DONE exists. Exit 1 when either bind worked. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int joined(int type, int port) {
  int s = socket(AF_INET, type | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || (type == SOCK_STREAM && listen(s, 64) != 0)) {
    printf("net_reuse_port: %s port %d: %s\n", type == SOCK_STREAM ? "tcp" : "udp", port, strerror(errno));
    close(s);
    return -1;
  }
  printf("net_reuse_port: JOINED the %s port %d\n", type == SOCK_STREAM ? "tcp" : "udp", port);
  return s;
}

int main(void) {
  const char* tp = getenv("ATTACK_REUSE_TCP");
  const char* up = getenv("ATTACK_REUSE_UDP");
  const char* ready = getenv("ATTACK_READY");
  const char* done = getenv("ATTACK_DONE");
  if (!tp || !up || !ready || !done) return 2;
  int t = joined(SOCK_STREAM, atoi(tp)), u = joined(SOCK_DGRAM, atoi(up));
  fflush(stdout);
  close(open(ready, O_WRONLY | O_CREAT, 0644));
  int conns = 0, grams = 0;
  for (int i = 0; i < 400 && access(done, F_OK) != 0; ++i) {
    int c;
    char b[64];
    while (t >= 0 && (c = accept(t, NULL, NULL)) >= 0) { ++conns; close(c); }
    while (u >= 0 && recv(u, b, sizeof b, 0) > 0) ++grams;
    usleep(25000);
  }
  printf("net_reuse_port: got %d connections and %d datagrams\n", conns, grams);
  return t >= 0 || u >= 0;
}
