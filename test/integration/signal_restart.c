/* A program whose signal handler lacks SA_RESTART (as dash's SIGCHLD handler does), under a
 * storm of signals, opens and stats a regular file and execs a missing program: natively
 * none of these fails with EINTR, so under guardian none may either. Prints the counts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_signal(int s) { (void)s; }

int main(int argc, char **argv) {
  const char *file = argc > 1 ? argv[1] : "/etc/hostname";
  struct sigaction sa = {0};
  sa.sa_handler = on_signal; /* no SA_RESTART */
  sigaction(SIGUSR1, &sa, NULL);
  pid_t parent = getpid();
  pid_t storm = fork();
  if (storm == 0) {
    for (;;) {
      kill(parent, SIGUSR1);
      usleep(20);
    }
  }
  int eintr = 0, other = 0;
  struct stat st;
  char *args[] = {"missing", NULL};
  for (int i = 0; i < 20000; i++) {
    int fd = open(file, O_RDONLY);
    if (fd >= 0) close(fd);
    else if (errno == EINTR) eintr++;
    else other++;
    if (stat(file, &st) != 0) (errno == EINTR ? eintr++ : other++);
    if (i % 20 == 0 && execv("/nonexistent-guardian-test/missing", args) != 0 && errno == EINTR) eintr++;
  }
  kill(storm, SIGKILL);
  waitpid(storm, NULL, 0);
  printf("eintr=%d other=%d\n", eintr, other);
  return 0;
}
