/* Escape attempt: make another program's job the foreground of the terminal the session
 * shares with the user's shell (tcsetpgrp, ioctl TIOCSPGRP), so that what the user types
 * there, ^C and ^Z among it, reaches that job instead of the session: the user's ^C meant
 * for the sandboxed command ends the shell's background job (ATTACK_GROUP_VICTIM, started
 * by run_tty_fg.sh in a group of its own). Waits to be the foreground itself, tries,
 * prints FG-READY (the runner then types ^C), and gives the terminal back after two
 * seconds. Exit 1 when the foreground moved. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  const char* v = getenv("ATTACK_GROUP_VICTIM");
  pid_t victim = v ? (pid_t)atoi(v) : 0;
  if (victim <= 0) return 2;
  pid_t group = getpgid(victim);
  signal(SIGTTOU, SIG_IGN);
  /* The runner's shell part hands us the terminal first, as a shell does for a job. */
  for (int i = 0; i < 500 && tcgetpgrp(0) != getpgrp(); ++i) usleep(10000);
  int moved = tcsetpgrp(0, group) == 0;
  if (moved) printf("proc_tty_fg: MOVED the terminal's foreground to the job\n");
  else printf("proc_tty_fg: refused: %s\n", strerror(errno));
  printf("FG-READY\n");
  fflush(stdout);
  sleep(2);
  if (moved) tcsetpgrp(0, getpgrp());
  return moved;
}
