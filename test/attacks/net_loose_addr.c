/* Escape attempt: addresses the kernel reads more loosely than a whole sockaddr. An
 * AF_INET6 name of 24 bytes (RFC 2133, no scope id: sendto, connect of UDP and TCP), an
 * AF_UNSPEC name on an AF_INET socket (sendto, sendmsg, sendmmsg send to it as AF_INET;
 * bind takes it as INADDR_ANY), and listen() on a socket never bound, which binds it to
 * every interface: the runner connects to the ports written to ws/listen-ports and counts
 * what gets through. Env: ATTACK_TCP, ATTACK_UDP (forbidden ports). */
#include "attack.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static int worked = 0;
static void sent(const char* how, long r, long want) {
  if (r == want) {
    worked = 1;
    fprintf(stderr, "%s: WORKED\n", how);
  } else {
    fprintf(stderr, "%s: %s\n", how, r < 0 ? strerror(errno) : "short");
  }
}

/* A listening socket's port, or 0. */
static int port_of(int s) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (getsockname(s, (struct sockaddr*)&ss, &l) != 0) return 0;
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6*)&ss)->sin6_port
                                        : ((struct sockaddr_in*)&ss)->sin_port);
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  int tcp = atoi(env_or("ATTACK_TCP", "0")), udp = atoi(env_or("ATTACK_UDP", "0"));
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)udp)};
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
  int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
  sent("sendto inet6 name of 24 bytes", sendto(u6, "leak", 4, 0, (struct sockaddr*)&a6, 24), 4);
  int c6 = socket(AF_INET6, SOCK_DGRAM, 0);
  if (connect(c6, (struct sockaddr*)&a6, 24) == 0) sent("udp connect of 24 bytes, send", send(c6, "leak", 4, 0), 4);
  else fprintf(stderr, "udp connect of 24 bytes: %s\n", strerror(errno));
  a6.sin6_port = htons((unsigned short)tcp);
  int t6 = socket(AF_INET6, SOCK_STREAM, 0);
  sent("tcp connect of 24 bytes", connect(t6, (struct sockaddr*)&a6, 24), 0);

  struct sockaddr_in un = {.sin_family = AF_UNSPEC, .sin_port = htons((unsigned short)udp)};
  inet_pton(AF_INET, "127.0.0.1", &un.sin_addr);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  sent("sendto AF_UNSPEC", sendto(u, "leak", 4, 0, (struct sockaddr*)&un, sizeof un), 4);
  struct iovec iov = {.iov_base = "leak", .iov_len = 4};
  struct msghdr mh = {.msg_name = &un, .msg_namelen = sizeof un, .msg_iov = &iov, .msg_iovlen = 1};
  sent("sendmsg AF_UNSPEC", sendmsg(u, &mh, 0), 4);
  struct mmsghdr mm = {.msg_hdr = mh};
  sent("sendmmsg AF_UNSPEC", sendmmsg(u, &mm, 1, 0), 1);

  /* Listeners the profile does not allow: never bound, and bound through AF_UNSPEC. */
  int ls[3], n = 0;
  ls[n] = socket(AF_INET, SOCK_STREAM, 0);
  if (listen(ls[n], 4) == 0) n++;
  else fprintf(stderr, "listen unbound: %s\n", strerror(errno));
  ls[n] = socket(AF_INET6, SOCK_STREAM, 0);
  if (listen(ls[n], 4) == 0) n++;
  else fprintf(stderr, "listen6 unbound: %s\n", strerror(errno));
  ls[n] = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = {.sin_family = AF_UNSPEC};
  if (bind(ls[n], (struct sockaddr*)&any, sizeof any) == 0 && listen(ls[n], 4) == 0) n++;
  else fprintf(stderr, "bind AF_UNSPEC, listen: %s\n", strerror(errno));
  if (n) {
    char tmp[2400], path[2400];
    snprintf(tmp, sizeof tmp, "%s/listen-ports.tmp", WS);
    snprintf(path, sizeof path, "%s/listen-ports", WS);
    FILE* f = fopen(tmp, "w");
    for (int i = 0; f && i < n; i++) fprintf(f, "%d\n", port_of(ls[i]));
    if (f) fclose(f);
    rename(tmp, path);
    /* The runner connects from outside; wait for it (or 5 s). */
    struct pollfd p[3];
    for (int i = 0; i < n; i++) p[i] = (struct pollfd){.fd = ls[i], .events = POLLIN};
    double end = now() + 5;
    int got = 0;
    while (got < n && now() < end) {
      if (poll(p, (nfds_t)n, 200) <= 0) continue;
      for (int i = 0; i < n; i++)
        if (p[i].revents & POLLIN) {
          close(accept(ls[i], NULL, NULL));
          p[i].fd = -1;
          got++;
          worked = 1;
          fprintf(stderr, "listener %d: ACCEPTED\n", i);
        }
    }
  }
  printf("net_loose_addr: %s\n", worked ? "SOMETHING WORKED" : "all refused");
  return worked;
}
