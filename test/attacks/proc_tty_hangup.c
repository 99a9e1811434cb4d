/* Escape attempt: signal the user's shell through the terminal the session shares with it.
 * Hanging up a terminal (vhangup(2), or the TIOCVHANGUP ioctl on a descriptor of it; both
 * need CAP_SYS_ADMIN, so root only) makes the kernel send SIGHUP to the terminal's session
 * leader, a process outside the session. run_tty_attack.sh runs guardian under such a
 * leader and checks it lives; skipped where the hangup fails natively (not root). Exit 1
 * when a hangup was accepted. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef TIOCVHANGUP
#define TIOCVHANGUP 0x5437
#endif

int main(void) {
  int hung = 0;
  if (ioctl(0, TIOCVHANGUP, 0) == 0) hung = 1;
  printf("TIOCVHANGUP on stdin: %s\n", hung ? "accepted" : strerror(errno));
  /* The kernel takes the command as 32 bits: garbage above must change nothing. */
  if (ioctl(0, (unsigned long)TIOCVHANGUP | (1UL << 32), 0) == 0) hung = 1;
  printf("TIOCVHANGUP with high bits: %s\n", hung ? "accepted" : strerror(errno));
  if (vhangup() == 0) hung = 1;
  printf("vhangup: %s\n", hung ? "accepted" : strerror(errno));
  fflush(stdout);
  return hung;
}
