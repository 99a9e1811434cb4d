/* Terminal settings that outlive the session, on the terminal it shares with the user's
 * shell: echo, canonical input and the signal keys turned off, ^C undefined, XON/XOFF and
 * CR translation off. Natively they stay so after the program exits (an interactive bash
 * even adopts them from a job that exits normally): the user's next commands show nothing
 * typed and ^C no longer interrupts them. With the argument "own-group" the program first
 * takes the terminal for a process group of its own (setpgid, tcsetpgrp), which is empty
 * once it exits. run_tty_termios.sh compares the terminal's settings before and after. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "own-group") == 0) {
    signal(SIGTTOU, SIG_IGN);
    if (setpgid(0, 0) != 0 || tcsetpgrp(0, getpgrp()) != 0)
      printf("own group: %s\n", strerror(errno));
  }
  struct termios t;
  if (tcgetattr(0, &t) != 0) {
    printf("no terminal: %s\n", strerror(errno));
    return 0;
  }
  t.c_lflag &= ~(tcflag_t)(ECHO | ICANON | ISIG);
  t.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
  t.c_cc[VINTR] = _POSIX_VDISABLE;
  if (tcsetattr(0, TCSANOW, &t) != 0) {
    printf("settings refused: %s\n", strerror(errno));
    return 0;
  }
  printf("settings changed\n");
  return 0;
}
