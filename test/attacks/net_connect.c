/* Escape attempt: reach a listener the profile does not allow: TCP connect (IPv4 and
 * IPv4-mapped IPv6), UDP sendto and sendmsg with a destination, a unix socket by path and
 * through a symlink in the writable directory. The runner's listeners count arrivals.
 * Env: ATTACK_TCP, ATTACK_UDP (forbidden ports), ATTACK_UNIX (forbidden socket path). */
#include "attack.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char** argv) {
  fixture(argc, argv);
  int tcp = atoi(env_or("ATTACK_TCP", "0")), udp = atoi(env_or("ATTACK_UDP", "0"));
  const char* upath = env_or("ATTACK_UNIX", "/nonexistent");
  int worked = 0;
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((unsigned short)tcp)};
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr*)&in, sizeof in) == 0) worked = 1;
  else fprintf(stderr, "connect v4: %s\n", strerror(errno));
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)tcp)};
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
  int s6 = socket(AF_INET6, SOCK_STREAM, 0);
  if (connect(s6, (struct sockaddr*)&in6, sizeof in6) == 0) worked = 1;
  else fprintf(stderr, "connect v4-mapped: %s\n", strerror(errno));
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  in.sin_port = htons((unsigned short)udp);
  if (sendto(u, "leak", 4, 0, (struct sockaddr*)&in, sizeof in) == 4) worked = 1;
  else fprintf(stderr, "sendto: %s\n", strerror(errno));
  struct iovec iov = {.iov_base = "leak", .iov_len = 4};
  struct msghdr mh = {.msg_name = &in, .msg_namelen = sizeof in, .msg_iov = &iov, .msg_iovlen = 1};
  if (sendmsg(u, &mh, 0) == 4) worked = 1;
  else fprintf(stderr, "sendmsg: %s\n", strerror(errno));
  struct mmsghdr mm = {.msg_hdr = mh};
  if (sendmmsg(u, &mm, 1, 0) == 1) worked = 1;
  else fprintf(stderr, "sendmmsg: %s\n", strerror(errno));
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  snprintf(un.sun_path, sizeof un.sun_path, "%s", upath);
  int x = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(x, (struct sockaddr*)&un, sizeof un) == 0) worked = 1;
  else fprintf(stderr, "connect unix: %s\n", strerror(errno));
  char link[2400];
  snprintf(link, sizeof link, "%s/sock-link", WS);
  symlink(upath, link);
  snprintf(un.sun_path, sizeof un.sun_path, "%s", link);
  int y = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(y, (struct sockaddr*)&un, sizeof un) == 0) worked = 1;
  else fprintf(stderr, "connect unix via symlink: %s\n", strerror(errno));
  if (socket(AF_PACKET, SOCK_RAW, 0) >= 0) worked = 1;
  printf("net_connect: %s\n", worked ? "SOMETHING WORKED" : "all refused");
  return worked;
}
