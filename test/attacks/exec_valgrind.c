/* Escape attempt: run a program the profile does not allow through valgrind, which an
 * allowed program may be (default executes /usr/bin and /usr/libexec): a valgrind tool
 * loads the program its command line names (its client) itself, by open and mmap, as the
 * dynamic loader run as a program does, so the kernel only ever loads the allowed tool. The
 * client is a copy of touch in the writable directory, named by its path, through a
 * symbolic link, after "--", and by a bare name found in PATH. Each would create
 * T/ws/ran-forbidden-*. valgrind must still run an allowed program (exit 2 otherwise). */
#include "attack.h"
#include <sys/wait.h>

static const char* kValgrind = "/usr/bin/valgrind";

static int run(char* const* argv, const char* path_env) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    if (path_env) setenv("PATH", path_env, 1);
    setenv("TMPDIR", WS, 1);  /* valgrind's own files (the fixture writes only T/ws) */
    execv(kValgrind, argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void copy(const char* from, const char* to) {
  int f = open(from, O_RDONLY), t = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  char buf[65536];
  ssize_t n;
  while ((n = read(f, buf, sizeof buf)) > 0)
    if (write(t, buf, (size_t)n) != n) break;
  close(f);
  close(t);
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char evil[2300], link[2300], m[2400], ok[2400];
  snprintf(evil, sizeof evil, "%s/evil", WS);
  snprintf(link, sizeof link, "%s/evil-link", WS);
  copy("/usr/bin/touch", evil);
  (void)!symlink(evil, link);

  snprintf(ok, sizeof ok, "%s/valgrind-ran-touch", WS);
  char* allowed[] = {"valgrind", "-q", "--vgdb=no", "--tool=none", "/usr/bin/touch", ok, NULL};
  int st = run(allowed, NULL);
  if (access(ok, F_OK) != 0) {
    printf("valgrind did not run an allowed program (status %d)\n", st);
    return 2;
  }

  snprintf(m, sizeof m, "%s/ran-forbidden-path", WS);
  char* by_path[] = {"valgrind", "-q", "--vgdb=no", "--tool=none", evil, m, NULL};
  printf("by path: status %d\n", run(by_path, NULL));
  snprintf(m, sizeof m, "%s/ran-forbidden-link", WS);
  char* by_link[] = {"valgrind", "-q", "--vgdb=no", "--tool=none", link, m, NULL};
  printf("through a link: status %d\n", run(by_link, NULL));
  snprintf(m, sizeof m, "%s/ran-forbidden-dashes", WS);
  char* by_dashes[] = {"valgrind", "-q", "--vgdb=no", "--tool=none", "--", evil, m, NULL};
  printf("after --: status %d\n", run(by_dashes, NULL));
  snprintf(m, sizeof m, "%s/ran-forbidden-bare", WS);
  char* bare[] = {"valgrind", "-q", "--vgdb=no", "--tool=none", "evil", m, NULL};
  char path_env[2400];
  snprintf(path_env, sizeof path_env, "%s:/usr/bin:/bin", WS);
  printf("a bare name in PATH: status %d\n", run(bare, path_env));
  return 0;
}
