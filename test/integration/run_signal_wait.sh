#!/bin/sh
# A signal the program handles ends a blocking call that guardian carries out for it (a FIFO
# open waiting for its other end, a send into a full datagram queue) as it ends the native
# call: EINTR when the handler has no SA_RESTART, a transparent restart of the call when it
# has. Before, the program stayed blocked until the other end came (a timeout by alarm()
# never fired). Each case runs natively and under guardian; the outputs must match.
. "$(dirname "$0")/run_lib.sh"
command -v gcc >/dev/null || { echo "skip: no gcc"; exit 77; }
# Seccomp backend only: the ptrace backend answers by skipping the syscall, which the kernel
# cannot restart, so there such waits end only with the other end (guardian(1), BUGS).
cat >"$T/w.c" <<'C'
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int got;
static void on_alarm(int s) { (void)s; got++; }
static void arm(int restart, long ms) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGALRM, &sa, 0);
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, 0);
}
int main(int argc, char** argv) {
  (void)argc;
  const char* fifo = argv[1];
  /* 1: FIFO open, no writer, handler without SA_RESTART: EINTR. */
  got = 0;
  arm(0, 200);
  int fd = open(fifo, O_RDONLY);
  printf("open no-restart: %s, handler ran %d\n", fd < 0 ? strerror(errno) : "opened", got);
  if (fd >= 0) close(fd);
  /* 2: the same with SA_RESTART, and a writer 600 ms later: the open is restarted and
     succeeds with the writer's data. */
  pid_t w = fork();
  if (w == 0) {
    usleep(600000);
    int o = open(fifo, O_WRONLY);
    if (write(o, "late-writer", 11) != 11) _exit(1);
    _exit(0);
  }
  got = 0;
  arm(1, 200);
  fd = open(fifo, O_RDONLY);
  char buf[32] = {0};
  if (fd >= 0 && read(fd, buf, sizeof buf - 1) < 0) buf[0] = 0;
  printf("open restart: %s '%s', handler ran %d\n", fd < 0 ? strerror(errno) : "opened", buf, got);
  waitpid(w, 0, 0);
  /* 3: blocking send into a full unix datagram queue (another socket's, with a destination),
     handler without SA_RESTART: EINTR. */
  int r = socket(AF_UNIX, SOCK_DGRAM, 0), s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un { sa_family_t f; char p[108]; } a;
  memset(&a, 0, sizeof a);
  a.f = AF_UNIX;
  snprintf(a.p, sizeof a.p, "%s.sock", fifo);
  unlink(a.p);
  bind(r, (struct sockaddr*)&a, sizeof a);
  int n = 0;
  while (sendto(s, "x", 1, MSG_DONTWAIT, (struct sockaddr*)&a, sizeof a) == 1) n++;
  got = 0;
  arm(0, 200);
  ssize_t k = sendto(s, "y", 1, 0, (struct sockaddr*)&a, sizeof a);
  printf("send no-restart: %s, handler ran %d, queue filled %s\n", k < 0 ? strerror(errno) : "sent",
         got, n > 0 ? "yes" : "no");
  unlink(a.p);
  return 0;
}
C
gcc -O1 -o "$T/w" "$T/w.c" || { echo "FAIL: cannot build the probe"; exit 1; }
mkfifo "$T/fifo"
cat >"$T/p.yaml" <<YAML
version: 1
files:
  read: ["/**"]
  write: ["$T/**"]
exec:
  allow: ["/**"]
network:
  connect: ["unix:$T/**"]
  bind: ["unix:$T/**"]
YAML
timeout 20 "$T/w" "$T/fifo" >"$T/native.out" 2>&1
timeout 20 "$G" run -p "$T/p.yaml" -- "$T/w" "$T/fifo" >"$T/guardian.out" 2>"$T/guardian.err"
echo "native:"; cat "$T/native.out"
check "a handled signal ends the waits as natively" "$(cat "$T/native.out")" "$(cat "$T/guardian.out")"
grep -q "handler ran 1" "$T/native.out" || check "the native run shows the waits" yes no
finish
