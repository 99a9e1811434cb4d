/* Terminal state that outlives the process, on the terminal the session shares with the
 * user's shell: TIOCSETD to the N_NULL line discipline throws away everything typed
 * there and written to it afterwards (the shell is dead once the session ends); TIOCEXCL
 * makes every later open of it fail with EBUSY (sudo, ssh, gpg and less open /dev/tty to
 * ask or read keys); tcflow(TCOOFF) suspends its output, so the shell hangs at its next
 * prompt (with IXON cleared, ^Q does not resume it). Any user may do all three to a
 * terminal of theirs. The attack: each on a pseudo-terminal, checked with TIOCGETD,
 * TIOCGEXCL and whether a write reaches the other side. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "door.h"

#ifndef TIOCGEXCL
#define TIOCGEXCL 0x80045440
#endif

static int master = -1;

static int pty_slave(void) {
  int m = master = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) skip("no pty: %s", strerror(errno));
  int s = open(ptsname(m), O_RDWR | O_NOCTTY);
  if (s < 0) skip("cannot open pty slave: %s", strerror(errno));
  return s;
}

int main(void) {
  int s = pty_slave();
  int disc = 27; /* N_NULL */
  int r = ioctl(s, TIOCSETD, &disc);
  int err = errno, now = -1;
  ioctl(s, TIOCGETD, &now);
  if (r == 0 && now == 27) opened("TIOCSETD set the N_NULL line discipline");
  int natively_refused = r != 0 && err != EPERM;
  s = pty_slave();
  r = ioctl(s, TIOCEXCL);
  err = errno;
  int excl = 0;
  if (r == 0 && ioctl(s, TIOCGEXCL, &excl) == 0 && excl) opened("TIOCEXCL made the terminal exclusive");
  if (r != 0 && err != EPERM) skip("TIOCEXCL refused natively: %s", strerror(err));
  s = pty_slave();
  r = tcflow(s, TCOOFF);
  err = errno;
  int fl = fcntl(s, F_GETFL);
  fcntl(s, F_SETFL, fl | O_NONBLOCK);
  (void)!write(s, "x", 1);
  struct pollfd p = {master, POLLIN, 0};
  if (r == 0 && poll(&p, 1, 300) == 0) opened("tcflow(TCOOFF) suspended the terminal's output");
  if (r != 0 && err != EPERM) skip("TCOOFF refused natively: %s", strerror(err));
  if (natively_refused) skip("TIOCSETD N_NULL refused natively");
  closed("TIOCSETD, TIOCEXCL and TCOOFF refused");
}
