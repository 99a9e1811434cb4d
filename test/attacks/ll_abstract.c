/* Escape attempt: connect to an abstract unix socket (@NAME) made outside the session.
 * Exit 0 when connected (the escape worked), 1 with the errno otherwise. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2 || strlen(argv[1]) > 100) return 2;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path + 1, argv[1], strlen(argv[1]));
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(argv[1]));
  if (connect(s, (struct sockaddr*)&sa, len) != 0) {
    fprintf(stderr, "ll_abstract: connect @%s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  (void)!write(s, "pwned\n", 6);
  close(s);
  return 0;
}
