/* Calls every interposed libc function on a path that does not exist and checks that the
 * result and errno are exactly what libc gives without the shim (ENOENT), while
 * shim_errno.py plays the supervisor with ENOENT as the "deny errno" so each failure also
 * takes the shim's reporting path. Prints one line per call: "NAME ok" or "NAME BAD ...". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#define MISSING "/nonexistent-guardian-dir/file"

extern char **environ;
static int bad;

static void expect(const char *name, long rc, long want_rc, int err, int want_err) {
  if (rc == want_rc && err == want_err) {
    printf("%s ok\n", name);
  } else {
    printf("%s BAD rc=%ld errno=%s\n", name, rc, strerrorname_np(err));
    bad = 1;
  }
}

#define CALL(name, expr, want_rc)         \
  do {                                    \
    errno = 0;                            \
    long rc_ = (long)(expr);              \
    expect(name, rc_, want_rc, errno, ENOENT); \
  } while (0)

/* A signal handler that opens a missing file: the shim's report path must be safe here. */
static volatile int handler_errno;
static void on_usr1(int sig) {
  (void)sig;
  int saved = errno;
  errno = 0;
  int fd = open(MISSING, O_RDONLY);
  handler_errno = fd < 0 ? errno : 0;
  errno = saved;
}

static void *idle_thread(void *arg) {
  usleep(100000);
  return arg;
}

int main(void) {
  struct stat st;
  struct stat64 st64;
  struct statx stx;
  CALL("open", open(MISSING, O_RDONLY), -1);
  CALL("open64", open64(MISSING, O_RDONLY), -1);
  CALL("openat", openat(AT_FDCWD, MISSING, O_RDONLY), -1);
  CALL("openat-creat", openat(AT_FDCWD, MISSING, O_WRONLY | O_CREAT, 0600), -1);
  CALL("creat", creat(MISSING, 0600), -1);
  CALL("fopen", fopen(MISSING, "r") == NULL ? -1 : 0, -1);
  CALL("fopen64", fopen64(MISSING, "r") == NULL ? -1 : 0, -1);
  CALL("stat", stat(MISSING, &st), -1);
  CALL("stat64", stat64(MISSING, &st64), -1);
  CALL("lstat", lstat(MISSING, &st), -1);
  CALL("fstatat", fstatat(AT_FDCWD, MISSING, &st, 0), -1);
  CALL("statx", statx(AT_FDCWD, MISSING, 0, STATX_BASIC_STATS, &stx), -1);
  CALL("access", access(MISSING, R_OK), -1);
  CALL("faccessat", faccessat(AT_FDCWD, MISSING, R_OK, 0), -1);
  CALL("euidaccess", euidaccess(MISSING, R_OK), -1);
  char *argv[] = {"x", NULL};
  CALL("execve", execve(MISSING, argv, environ), -1);
  CALL("execv", execv(MISSING, argv), -1);
  CALL("execvp", execvp(MISSING, argv), -1);
  CALL("execl", execl(MISSING, "x", "y", (char *)NULL), -1);
  CALL("execle", execle(MISSING, "x", (char *)NULL, environ), -1);
  CALL("execlp", execlp(MISSING, "x", (char *)NULL), -1);

  /* posix_spawn returns the error instead of setting errno. */
  pid_t pid;
  errno = 0;
  int rc = posix_spawn(&pid, MISSING, NULL, NULL, argv, environ);
  expect("posix_spawn", rc == ENOENT ? -1 : rc, -1, errno == 0 ? ENOENT : errno, ENOENT);
  rc = posix_spawnp(&pid, "nonexistent-guardian-program", NULL, NULL, argv, environ);
  expect("posix_spawnp", rc == ENOENT ? -1 : rc, -1, ENOENT, ENOENT);

  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  strcpy(un.sun_path, MISSING);
  CALL("connect", connect(s, (struct sockaddr *)&un, sizeof un), -1);
  close(s);
  s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CALL("sendto", sendto(s, "x", 1, 0, (struct sockaddr *)&un, sizeof un), -1);
  close(s);

  /* Compat and fortify entry points, reached the way old binaries reach them. */
  int (*xstat)(int, const char *, struct stat *) = (int (*)(int, const char *, struct stat *))dlsym(RTLD_DEFAULT, "__xstat");
  if (xstat) CALL("__xstat", xstat(1, MISSING, &st), -1);
  /* __fxstatat's own version is GLIBC_2.4, not the base one of the others. */
  int (*fxstatat)(int, int, const char *, struct stat *, int) =
      (int (*)(int, int, const char *, struct stat *, int))dlsym(RTLD_DEFAULT, "__fxstatat");
  if (fxstatat) CALL("__fxstatat", fxstatat(1, AT_FDCWD, MISSING, &st, 0), -1);
  int (*lxstat)(int, const char *, struct stat *) = (int (*)(int, const char *, struct stat *))dlsym(RTLD_DEFAULT, "__lxstat");
  if (lxstat) CALL("__lxstat", lxstat(1, MISSING, &st), -1);
  int (*open2)(const char *, int) = (int (*)(const char *, int))dlsym(RTLD_DEFAULT, "__open_2");
  if (open2) CALL("__open_2", open2(MISSING, O_RDONLY), -1);

  /* In a signal handler. */
  signal(SIGUSR1, on_usr1);
  errno = EINTR;
  raise(SIGUSR1);
  expect("signal-handler", handler_errno == ENOENT ? -1 : 0, -1, errno, EINTR);

  /* In a vfork child (shares our memory until it execs or exits). */
  pid = vfork();
  if (pid == 0) {
    execv(MISSING, argv);
    _exit(errno == ENOENT ? 0 : 1);
  }
  int ws = 0;
  waitpid(pid, &ws, 0);
  expect("vfork-child", WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? -1 : 0, -1, ENOENT, ENOENT);

  /* In a child forked from a multi-threaded parent: the shim must not unwind there (the
   * loader lock the unwinder takes may have been held by another thread at fork time),
   * but still reports the call site and keeps errno. */
  pthread_t th;
  pthread_create(&th, NULL, idle_thread, NULL);
  pid = fork();
  if (pid == 0) {
    int fd2 = openat(AT_FDCWD, MISSING "-forked", O_RDONLY);
    _exit(fd2 < 0 && errno == ENOENT ? 0 : 1);
  }
  waitpid(pid, &ws, 0);
  expect("fork-multithreaded", WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? -1 : 0, -1, ENOENT, ENOENT);
  pthread_join(th, NULL);

  /* Successful calls stay successful and leave errno alone. */
  errno = 0;
  int fd = open("/dev/null", O_RDONLY);
  expect("open-success", fd >= 0 ? -1 : fd, -1, errno == 0 ? ENOENT : errno, ENOENT);
  /* The fstat family (answered with the plain fstat syscall by the shim): the same fields
   * as glibc's newfstatat, errno kept on success, EBADF on a closed descriptor. */
  if (fd >= 0) {
    struct stat a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    errno = EINTR;
    int r = fstat(fd, &a);
    int e = errno;
    fstatat(fd, "", &b, AT_EMPTY_PATH);
    expect("fstat", r == 0 && a.st_ino == b.st_ino && a.st_rdev == b.st_rdev &&
                        a.st_mode == b.st_mode ? -1 : 0, -1, e == EINTR ? ENOENT : e, ENOENT);
    struct stat64 a64;
    errno = EINTR;
    r = fstat64(fd, &a64);
    expect("fstat64", r == 0 && a64.st_ino == b.st_ino ? -1 : 0, -1, errno == EINTR ? ENOENT : errno, ENOENT);
    /* ...and it is the shim's fstat that answered, so it never reached a supervisor. */
    Dl_info di;
    const char *pre = getenv("LD_PRELOAD");
    int want = pre && strstr(pre, "guardian-preload");
    int ours = dladdr((void *)fstat, &di) && di.dli_fname && strstr(di.dli_fname, "guardian-preload");
    expect("fstat-interposed-when-preloaded", ours == want ? -1 : 0, -1, ENOENT, ENOENT);
    close(fd);
    errno = 0;
    r = fstat(fd, &a);
    expect("fstat-closed", r, -1, errno == EBADF ? ENOENT : errno, ENOENT);
  }
  return bad;
}
