/* Escape attempt: hold a port first with SO_REUSEPORT, on an address the profile lets the
 * session bind, so that the program the port belongs to, started later by the user
 * (run_reuse_first.sh starts it once this program listens), joins it instead of failing,
 * and the kernel deals the session part of that program's connections. Listens on
 * 127.0.0.1 (a port of the kernel's choice, written to ATTACK_PORT) and counts what it
 * accepts until ATTACK_DONE exists. Exit 1 when the option was set or a connection came. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  const char* port_file = getenv("ATTACK_PORT");
  const char* done = getenv("ATTACK_DONE");
  if (!port_file || !done) return 2;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1, shared = 0;
  if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0) {
    shared = 1;
    printf("net_reuse_first: SO_REUSEPORT set\n");
  } else {
    printf("net_reuse_first: SO_REUSEPORT refused: %s\n", strerror(errno));
  }
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 64) != 0 ||
      getsockname(s, (struct sockaddr*)&a, &al) != 0) {
    printf("net_reuse_first: cannot listen: %s\n", strerror(errno));
    return 2;
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
  FILE* f = fopen(tmp, "w");
  if (!f) return 2;
  fprintf(f, "%d\n", ntohs(a.sin_port));
  fclose(f);
  rename(tmp, port_file);
  fflush(stdout);
  int conns = 0;
  for (int i = 0; i < 1200 && access(done, F_OK) != 0; ++i) {
    int c;
    while ((c = accept(s, NULL, NULL)) >= 0) { ++conns; close(c); }
    usleep(25000);
  }
  printf("net_reuse_first: got %d connections\n", conns);
  return shared || conns > 0;
}
