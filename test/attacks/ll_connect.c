/* Escape attempt: connect to 127.0.0.1:PORT (a TCP port no rule allows) and send a line.
 * Exit 0 when connected (the escape worked), 1 with the errno otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) {
    fprintf(stderr, "ll_connect: socket: %s\n", strerror(errno));
    return 1;
  }
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[1]));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr*)&sa, sizeof sa) != 0) {
    fprintf(stderr, "ll_connect: connect 127.0.0.1:%s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  (void)!write(s, "pwned\n", 6);
  close(s);
  return 0;
}
