/* Escape attempt: have the terminal the session shares with the user's shell SIGKILL that
 * shell. Turning O_ASYNC on for a terminal with no owner set makes the kernel make the
 * terminal's foreground process group its owner, and F_SETSIG makes the signal sent to
 * the owner whenever input arrives SIGKILL: from the background of the shell (run_tty_sigio.sh),
 * that group is the shell's, killed at the next line the user types. In the foreground it
 * is the group guardian shares with the command: guardian itself would be killed. Prints
 * SIGIO-READY (the runner then types a line). Exit 1 when the owner became a group other
 * than the process's own. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  int sig = fcntl(0, F_SETSIG, SIGKILL);
  int r = fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_ASYNC);
  int err = errno;
  struct f_owner_ex o;
  memset(&o, 0, sizeof o);
  fcntl(0, F_GETOWN_EX, &o);
  int taken = r == 0 && o.pid != 0 && o.pid != getpid() && o.pid != getpgrp();
  if (r == 0) printf("proc_tty_sigio: O_ASYNC on (F_SETSIG %d), owner %s %d%s\n", sig, o.type == F_OWNER_PGRP ? "group" : "process", o.pid, taken ? ": TAKEN" : "");
  else printf("proc_tty_sigio: refused: %s\n", strerror(err));
  printf("SIGIO-READY\n");
  fflush(stdout);
  sleep(2);
  return taken;
}
