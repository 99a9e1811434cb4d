/* TIOCSTI pushes input into a terminal: after the session ends, the user's shell would
 * read it as typed commands. The attack: push a byte into a pseudo-terminal and check it
 * arrived. TIOCLINUX is refused the same way (checked by its errno: no console here). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "door.h"

int main(void) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) skip("no pty: %s", strerror(errno));
  int s = open(ptsname(m), O_RDWR | O_NOCTTY);
  if (s < 0) skip("cannot open pty slave: %s", strerror(errno));
  struct termios t;
  tcgetattr(s, &t);
  cfmakeraw(&t);
  tcsetattr(s, TCSANOW, &t);
  char c = 'X';
  int r = ioctl(s, TIOCSTI, &c);
  int err = errno;
  struct pollfd p = {s, POLLIN, 0};
  if (r == 0 && poll(&p, 1, 200) == 1) {
    char got = 0;
    if (read(s, &got, 1) == 1 && got == 'X') opened("TIOCSTI injected input");
  }
  /* The kernel itself may forbid TIOCSTI (dev.tty.legacy_tiocsti=0: EIO). Only EPERM
   * from the filter shows the door closed by guardian. */
  if (r != 0 && err != EPERM) skip("TIOCSTI refused natively: %s", strerror(err));
  unsigned char sub = 0; /* TIOCL_* subcode; any: the filter refuses before the driver */
  if (ioctl(s, TIOCLINUX, &sub) == 0 || errno != EPERM)
    opened("TIOCLINUX reached the tty driver (%s)", strerror(errno));
  closed("TIOCSTI and TIOCLINUX refused");
}
