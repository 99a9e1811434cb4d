/* A program for the fast path's tests (issue 8). Modes:
 *   errno DIR FILE DENIED  errno is preserved across the fast path: untouched on success,
 *                          ENOENT for a missing file, EACCES for a denied one (open, stat,
 *                          access, fopen, opendir), printed one per line
 *   stress FILE N          N opens and stats of FILE from 4 threads, 2 forked children and a
 *                          vfork child at once; prints the number of successful calls
 *   cwd                    relative opens after chdir, a vfork child's chdir, and a rename
 *                          of the current directory (run in a directory holding plain.txt
 *                          and sub/inner.txt); prints one line per open
 *   realpath PATH...       realpath() of each PATH, into a buffer and malloc'ed, with the
 *                          buffer's contents on failure (glibc leaves the walked prefix)
 *   paths PATH...          for each PATH: stat, lstat, access(R_OK), open+read and fopen,
 *                          one line each with the result, errno (kept when untouched) and
 *                          what was seen (size, file type, first bytes)
 *   meta PATH...           for each PATH: stat, lstat, fstatat(AT_SYMLINK_NOFOLLOW), statx
 *                          (with and without following), access and faccessat(AT_EACCESS)
 *                          with each mode: every field those fill but atime, one line each
 *   swap DIR TARGET        lstat DIR/f.txt, then replaces DIR with a symbolic link to TARGET
 *                          (rename, symlink) and stats DIR/f.txt again (stat, lstat, access,
 *                          statx): what a link put on the way after a look is decided by
 *   mktemp DIR             mkstemp, mkstemps (suffix ".s"), mkostemp (O_CLOEXEC) and
 *                          mkostemps in DIR: per call the result or errno, the file's mode,
 *                          close-on-exec, whether the name kept the template's shape, and
 *                          errno kept on success; then a template without XXXXXX (EINVAL)
 *   token FILE             reads the session token from the memfd GUARDIAN_FAST names and
 *                          calls openat2(FILE) with a token wrong in its low half, then in
 *                          its high half, then right: the first two must reach the
 *                          supervisor; the third shows what --fast-path does not protect
 *   heap                   whether the program break moved before main() (from
 *                          /proc/self/stat's start_brk), read before anything of ours
 *                          allocates: "heap untouched" or "heap moved by N bytes" */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name(int e) { return e ? strerrorname_np(e) : "0"; }

static int errno_mode(const char *dir, const char *file, const char *denied) {
  char missing[4096];
  snprintf(missing, sizeof missing, "%s/does-not-exist", dir);
  const char *paths[3] = {file, missing, denied};
  const char *tags[3] = {"ok", "missing", "denied"};
  for (int i = 0; i < 3; ++i) {
    struct stat st;
    errno = 4242;
    int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
    printf("%s open %s errno=%s\n", tags[i], fd >= 0 ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
    if (fd >= 0) close(fd);
    errno = 4242;
    int r = stat(paths[i], &st);
    printf("%s stat %s errno=%s\n", tags[i], r == 0 ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
    errno = 4242;
    r = lstat(paths[i], &st);
    printf("%s lstat %s errno=%s\n", tags[i], r == 0 ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
    errno = 4242;
    r = access(paths[i], R_OK);
    printf("%s access %s errno=%s\n", tags[i], r == 0 ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
    errno = 4242;
    FILE *f = fopen(paths[i], "re");
    printf("%s fopen %s errno=%s\n", tags[i], f ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
    if (f) {
      char buf[64];
      size_t n = fread(buf, 1, sizeof buf, f);
      printf("%s fread %zu\n", tags[i], n);
      fclose(f);
    }
  }
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  errno = 4242;
  int r = fstatat(fd, "", &st, AT_EMPTY_PATH);
  printf("fd fstatat %s size=%lld errno=%s\n", r == 0 ? "ok" : "fail", (long long)st.st_size,
         errno == 4242 ? "kept" : name(errno));
  struct statx sx;
  errno = 4242;
  r = statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx);
  printf("fd statx %s size=%lld errno=%s\n", r == 0 ? "ok" : "fail", (long long)sx.stx_size,
         errno == 4242 ? "kept" : name(errno));
  errno = 4242;
  r = fstat(fd, &st);
  printf("fd fstat %s errno=%s\n", r == 0 ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
  close(fd);
  errno = 4242;
  r = fstat(-1, &st);
  printf("bad fstat %s errno=%s\n", r == 0 ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
  errno = 4242;
  DIR *d = opendir(dir);
  printf("dir opendir %s errno=%s\n", d ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
  if (d) closedir(d);
  return 0;
}

static const char *g_file;
static int g_n;

static void *worker(void *arg) {
  long ok = 0;
  for (int i = 0; i < g_n; ++i) {
    int fd = open(g_file, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ++ok;
      close(fd);
    }
    struct stat st;
    if (stat(g_file, &st) == 0) ++ok;
  }
  *(long *)arg = ok;
  return NULL;
}

static long run_threads(int nthreads) {
  pthread_t t[8];
  long ok[8] = {0};
  for (int i = 0; i < nthreads; ++i) pthread_create(&t[i], NULL, worker, &ok[i]);
  long total = 0;
  for (int i = 0; i < nthreads; ++i) {
    pthread_join(t[i], NULL);
    total += ok[i];
  }
  return total;
}

/* Threads that exit at once, many times over: a thread can then be gone before the tracer
 * has seen its parent's clone event (the session's end once waited 5 s for it). */
static void *nothing(void *a) { return a; }
static int threads_mode(int rounds) {
  pthread_t t[64];
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < 64; ++i)
      if (pthread_create(&t[i], NULL, nothing, NULL) != 0) return 1;
    for (int i = 0; i < 64; ++i) pthread_join(t[i], NULL);
  }
  puts("threads ok");
  return 0;
}

static int stress_mode(const char *file, int n) {
  g_file = file;
  g_n = n;
  int pipes[2][2];
  pid_t kids[2];
  for (int k = 0; k < 2; ++k) {
    if (pipe(pipes[k]) != 0) return 2;
    kids[k] = fork();
    if (kids[k] == 0) {
      long total = run_threads(2);
      if (write(pipes[k][1], &total, sizeof total) != sizeof total) _exit(3);
      _exit(0);
    }
  }
  /* A vfork child shares our memory (and our view of the ring) until it execs or exits. */
  volatile long vok = 0;
  pid_t v = vfork();
  if (v == 0) {
    for (int i = 0; i < 10; ++i) {
      int fd = open(file, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        vok++;
        close(fd);
      }
    }
    _exit(0);
  }
  waitpid(v, NULL, 0);
  long total = run_threads(4) + vok;
  for (int k = 0; k < 2; ++k) {
    long t = 0;
    if (read(pipes[k][0], &t, sizeof t) != sizeof t) return 4;
    total += t;
    waitpid(kids[k], NULL, 0);
  }
  printf("calls ok %ld\n", total);
  return 0;
}

static void try_open(const char *tag, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  printf("%s %s\n", tag, fd >= 0 ? "ok" : name(errno));
  if (fd >= 0) close(fd);
}

static int cwd_mode(void) {
  try_open("start plain", "plain.txt");
  pid_t v = vfork();
  if (v == 0) {
    /* Shares our memory, not our cwd: what it caches must not become ours. */
    if (chdir("sub") != 0) _exit(2);
    int fd = open("inner.txt", O_RDONLY | O_CLOEXEC);
    _exit(fd >= 0 ? 0 : 1);
  }
  int st = 0;
  waitpid(v, &st, 0);
  printf("vfork child inner %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "fail");
  try_open("after vfork plain", "plain.txt");
  if (chdir("sub") != 0) return 2;
  try_open("in sub inner", "inner.txt");
  try_open("in sub plain", "plain.txt");
  if (rename("../sub", "../sub2") != 0) return 3;
  try_open("renamed inner", "inner.txt");
  if (chdir("..") != 0 || rename("sub2", "sub") != 0) return 4;
  try_open("back plain", "plain.txt");
  return 0;
}

static int realpath_mode(int n, char **paths) {
  for (int i = 0; i < n; ++i) {
    char buf[PATH_MAX];
    strcpy(buf, "untouched");
    errno = 4242;
    char *r = realpath(paths[i], buf);
    printf("%s -> %s errno=%s buf=%s\n", paths[i], r ? r : "NULL", errno == 4242 ? "kept" : name(errno), buf);
    char *m = realpath(paths[i], NULL);
    printf("%s -> malloc %s\n", paths[i], m ? m : "NULL");
    free(m);
  }
  return 0;
}

static int paths_mode(int n, char **paths) {
  for (int i = 0; i < n; ++i) {
    const char *p = paths[i];
    struct stat st;
    errno = 4242;
    int r = stat(p, &st);
    printf("%s stat %d errno=%s %s\n", p, r, errno == 4242 ? "kept" : name(errno),
           r == 0 ? (S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other") : "-");
    errno = 4242;
    r = lstat(p, &st);
    printf("%s lstat %d errno=%s %s\n", p, r, errno == 4242 ? "kept" : name(errno),
           r == 0 ? (S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other") : "-");
    errno = 4242;
    r = access(p, R_OK);
    printf("%s access %d errno=%s\n", p, r, errno == 4242 ? "kept" : name(errno));
    errno = 4242;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    char buf[16] = {0};
    if (fd >= 0) {
      ssize_t got = read(fd, buf, sizeof buf - 1);
      if (got < 0) strcpy(buf, "(read failed)");
      for (char *c = buf; *c; ++c)
        if (*c == '\n') *c = '|';
      close(fd);
    }
    printf("%s open %s errno=%s %s\n", p, fd >= 0 ? "ok" : "fail", errno == 4242 ? "kept" : name(errno), buf);
    errno = 4242;
    FILE *f = fopen(p, "r");
    printf("%s fopen %s errno=%s\n", p, f ? "ok" : "fail", errno == 4242 ? "kept" : name(errno));
    if (f) fclose(f);
  }
  return 0;
}

static void stat_line(const char *p, const char *how, int r, const struct stat *st) {
  int e = errno;
  if (r != 0) {
    printf("%s %s -1 errno=%s\n", p, how, e == 4242 ? "kept" : name(e));
    return;
  }
  printf("%s %s 0 errno=%s dev=%llx ino=%llu mode=%o nlink=%llu uid=%u gid=%u rdev=%llx size=%lld "
         "blksize=%lld blocks=%lld mtime=%lld.%09ld ctime=%lld.%09ld\n",
         p, how, e == 4242 ? "kept" : name(e), (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
         st->st_mode, (unsigned long long)st->st_nlink, st->st_uid, st->st_gid,
         (unsigned long long)st->st_rdev, (long long)st->st_size, (long long)st->st_blksize,
         (long long)st->st_blocks, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
         (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

static void statx_line(const char *p, const char *how, int flags, unsigned mask) {
  struct statx sx;
  memset(&sx, 0, sizeof sx);
  errno = 4242;
  int r = statx(AT_FDCWD, p, flags, mask, &sx);
  int e = errno;
  if (r != 0) {
    printf("%s %s -1 errno=%s\n", p, how, e == 4242 ? "kept" : name(e));
    return;
  }
  printf("%s %s 0 errno=%s mask=%x dev=%x:%x ino=%llu mode=%o nlink=%u uid=%u gid=%u rdev=%x:%x size=%llu "
         "blocks=%llu mtime=%lld.%09u attrs=%llx/%llx\n",
         p, how, e == 4242 ? "kept" : name(e), sx.stx_mask & mask, sx.stx_dev_major, sx.stx_dev_minor,
         (unsigned long long)sx.stx_ino, sx.stx_mode, sx.stx_nlink, sx.stx_uid, sx.stx_gid,
         sx.stx_rdev_major, sx.stx_rdev_minor, (unsigned long long)sx.stx_size,
         (unsigned long long)sx.stx_blocks, (long long)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec,
         (unsigned long long)sx.stx_attributes, (unsigned long long)sx.stx_attributes_mask);
}

static int meta_mode(int n, char **paths) {
  static const int modes[] = {F_OK, R_OK, W_OK, X_OK, R_OK | W_OK};
  for (int i = 0; i < n; ++i) {
    const char *p = paths[i];
    struct stat st;
    errno = 4242;
    stat_line(p, "stat", stat(p, &st), &st);
    errno = 4242;
    stat_line(p, "lstat", lstat(p, &st), &st);
    errno = 4242;
    stat_line(p, "fstatat-nofollow", fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW), &st);
    statx_line(p, "statx", 0, STATX_BASIC_STATS);
    statx_line(p, "statx-nofollow", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS);
    statx_line(p, "statx-size", 0, STATX_SIZE);
    for (unsigned m = 0; m < sizeof modes / sizeof *modes; ++m) {
      errno = 4242;
      int r = access(p, modes[m]);
      printf("%s access(%d) %d errno=%s\n", p, modes[m], r, errno == 4242 ? "kept" : name(errno));
      errno = 4242;
      r = faccessat(AT_FDCWD, p, modes[m], AT_EACCESS);
      printf("%s faccessat-eaccess(%d) %d errno=%s\n", p, modes[m], r, errno == 4242 ? "kept" : name(errno));
    }
  }
  return 0;
}

static int swap_mode(const char *dir, const char *target) {
  char file[4096], old[4096];
  snprintf(file, sizeof file, "%s/f.txt", dir);
  snprintf(old, sizeof old, "%s.old", dir);
  struct stat st;
  errno = 4242;
  stat_line(file, "before-lstat", lstat(file, &st), &st);
  if (rename(dir, old) != 0 || symlink(target, dir) != 0) {
    printf("swap failed: %s\n", name(errno));
    return 1;
  }
  errno = 4242;
  stat_line(file, "after-stat", stat(file, &st), &st);
  errno = 4242;
  stat_line(file, "after-lstat", lstat(file, &st), &st);
  errno = 4242;
  int r = access(file, R_OK);
  printf("%s after-access %d errno=%s\n", file, r, errno == 4242 ? "kept" : name(errno));
  statx_line(file, "after-statx", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS);
  return 0;
}

static int token_mode(const char *file) {
  const char *env = getenv("GUARDIAN_FAST");
  int pfd = -1, rfd = -1;
  if (!env || sscanf(env, "%d:%d", &pfd, &rfd) != 2) {
    printf("no token\n");
    return 1;
  }
  /* struct gfast_profile: magic, version, then the 64-bit token. */
  uint64_t hdr[2];
  if (pread(pfd, hdr, sizeof hdr, 0) != sizeof hdr) {
    printf("no token\n");
    return 1;
  }
  uint64_t token = hdr[1];
  uint64_t tries[3] = {token ^ 1, token ^ (1ull << 40), token};
  const char *tags[3] = {"low", "high", "right"};
  for (int i = 0; i < 3; ++i) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC;
    long fd = syscall(SYS_openat2, AT_FDCWD, file, &how, sizeof how, 0, tries[i]);
    printf("%s %s\n", tags[i], fd >= 0 ? "opened" : name(errno));
    if (fd >= 0) close((int)fd);
  }
  return 0;
}

static int mktemp_mode(const char *dir) {
  for (int kind = 0; kind < 4; ++kind) {
    const char *suffix = (kind & 1) ? ".s" : "";
    char t[PATH_MAX];
    snprintf(t, sizeof t, "%s/t%dXXXXXX%s", dir, kind, suffix);
    errno = ERANGE;
    int fd = kind == 0 ? mkstemp(t) : kind == 1 ? mkstemps(t, 2) : kind == 2 ? mkostemp(t, O_CLOEXEC)
                                                                             : mkostemps(t, 2, O_CLOEXEC);
    if (fd < 0) {
      printf("%d: %s\n", kind, strerror(errno));
      continue;
    }
    int kept = errno == ERANGE;
    struct stat st;
    int shaped = strlen(t) == strlen(dir) + 9 + strlen(suffix) && strncmp(t + strlen(dir) + 3, "XXXXXX", 6) != 0 &&
                 strcmp(t + strlen(t) - strlen(suffix), suffix) == 0;
    for (size_t i = strlen(dir) + 3; i < strlen(dir) + 9; ++i)
      if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", t[i])) shaped = 0;
    int there = stat(t, &st) == 0 && fstat(fd, &st) == 0;
    printf("%d: fd mode=%o cloexec=%d rdwr=%d shaped=%d there=%d errno-kept=%d\n", kind,
           (unsigned)(st.st_mode & 07777), (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
           (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, shaped, there, kept);
    close(fd);
    unlink(t);
  }
  char bad[PATH_MAX];
  snprintf(bad, sizeof bad, "%s/tXXXXX", dir);
  int rc = mkstemp(bad);
  printf("short: %d %s\n", rc, strerror(errno));
  return 0;
}

// Natively nothing moves the break before main(): a library loaded into every program that
// allocates from its constructor changes where the program's heap starts, and how big it is.
static int heap_mode(void) {
  char buf[2048];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  char *now = sbrk(0);
  if (fd >= 0) close(fd);
  if (n <= 0) {
    printf("cannot read /proc/self/stat: %s\n", strerror(errno));
    return 1;
  }
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  // Field 47 (start_brk) is the 45th after the command name's closing parenthesis.
  for (int field = 2; p && field < 47; ++field) p = strchr(p + 1, ' ');
  if (!p) {
    printf("no start_brk in /proc/self/stat\n");
    return 1;
  }
  unsigned long start = strtoul(p + 1, NULL, 10);
  if ((unsigned long)now == start) printf("heap untouched\n");
  else printf("heap moved by %ld bytes\n", (long)((unsigned long)now - start));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "errno") == 0) return errno_mode(argv[2], argv[3], argv[4]);
  if (argc == 4 && strcmp(argv[1], "stress") == 0) return stress_mode(argv[2], atoi(argv[3]));
  if (argc == 3 && strcmp(argv[1], "token") == 0) return token_mode(argv[2]);
  if (argc == 2 && strcmp(argv[1], "cwd") == 0) return cwd_mode();
  if (argc == 3 && strcmp(argv[1], "threads") == 0) return threads_mode(atoi(argv[2]));
  if (argc >= 3 && strcmp(argv[1], "realpath") == 0) return realpath_mode(argc - 2, argv + 2);
  if (argc >= 3 && strcmp(argv[1], "paths") == 0) return paths_mode(argc - 2, argv + 2);
  if (argc >= 3 && strcmp(argv[1], "meta") == 0) return meta_mode(argc - 2, argv + 2);
  if (argc == 4 && strcmp(argv[1], "swap") == 0) return swap_mode(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "mktemp") == 0) return mktemp_mode(argv[2]);
  if (argc == 2 && strcmp(argv[1], "heap") == 0) return heap_mode();
  fprintf(stderr, "usage: fast_path_probe errno DIR FILE DENIED | stress FILE N | token FILE | cwd | threads ROUNDS | realpath PATH... | paths PATH... | meta PATH... | swap DIR TARGET | mktemp DIR | heap\n");
  return 64;
}
