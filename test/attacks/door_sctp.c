/* SCTP connects and sends to addresses given in setsockopt (SCTP_SOCKOPT_CONNECTX) and in
 * control messages (SCTP_DSTADDRV4), past the connect and sendto decisions: the socket
 * itself must be refused. Tried one-to-one (SOCK_STREAM) and one-to-many (SOCK_SEQPACKET),
 * IPv4 and IPv6. Kernels without SCTP refuse it natively (skip). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "door.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

int main(void) {
  int made = 0, last = 0;
  for (int fam = 0; fam < 2; ++fam)
    for (int t = 0; t < 2; ++t) {
      int s = socket(fam ? AF_INET6 : AF_INET, t ? SOCK_SEQPACKET : SOCK_STREAM, IPPROTO_SCTP);
      if (s >= 0) {
        ++made;
        close(s);
      } else {
        last = errno;
      }
    }
  if (made) opened("%d SCTP sockets made", made);
  if (last == EPROTONOSUPPORT || last == ESOCKTNOSUPPORT || last == EAFNOSUPPORT)
    skip("no SCTP here: %s", strerror(last));
  closed("SCTP sockets refused: %s", strerror(last));
}
