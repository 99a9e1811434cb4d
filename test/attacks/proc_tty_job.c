/* Escape attempt: stop another program's job through the terminal the session shares with
 * it. A process of the session joins the process group of a background job of the user's
 * shell (ATTACK_GROUP_VICTIM, started by run_tty_job.sh in a group of its own) with
 * setpgid, then changes the terminal's settings from that background group: the kernel
 * sends SIGTTOU to the whole group, stopping the job. A forked child does it (it stops
 * with the group); the parent reports whether the join worked. Exit 1 when it did. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int main(void) {
  const char* v = getenv("ATTACK_GROUP_VICTIM");
  pid_t victim = v ? (pid_t)atoi(v) : 0;
  if (victim <= 0) return 2;
  pid_t group = getpgid(victim);
  pid_t c = fork();
  if (c == 0) {
    if (setpgid(0, group) != 0) {
      printf("proc_tty_job: joining the job's group: %s\n", strerror(errno));
      _exit(0);
    }
    struct termios t;
    if (tcgetattr(0, &t) == 0) tcsetattr(0, TCSANOW, &t); /* SIGTTOU to the group */
    _exit(1);
  }
  int st = 0;
  for (int i = 0; i < 20; ++i) { /* the child stops with the job, or ends at once */
    if (waitpid(c, &st, WNOHANG | WUNTRACED) == c) break;
    usleep(50000);
  }
  int joined = WIFSTOPPED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 1);
  printf("proc_tty_job: %s\n", joined ? "JOINED the job's group" : "refused");
  if (WIFSTOPPED(st)) kill(c, SIGKILL);
  return joined;
}
