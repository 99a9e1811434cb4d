/* Escape attempt against a supervisor that keeps a /proc/PID/mem descriptor per process: an
 * exec gives the process new memory, while such a descriptor stays with the memory it was
 * opened on. A vfork child shares its parent's memory until it execs, so a descriptor kept
 * from the child's calls before its exec would, after it, read the PARENT's memory — where
 * the same address holds an allowed path — and the check would pass for the secret the new
 * image names there. Each case makes calls with the path at one fixed address, then execs
 * this program, whose new image puts the secret's path at that address and tries access()
 * (continued by the kernel on an allow: a wrong read shows as success) and open() (emulated:
 * a wrong read shows as the decoy's bytes); then an allowed path there must work.
 * Cases: a vfork child (its parent alive and unchanged), a plain exec, and an exec from a
 * second thread. Exit 1 when a call on the secret succeeded or read the wrong memory. */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "attack.h"

#define SLOT ((void*)0x3a5a00000000UL)

static char* slot(void) {
  char* p = mmap(SLOT, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (p != SLOT) { perror("mmap at the fixed slot"); exit(2); }
  return p;
}

static char DECOY[2300], SELF[4096];

/* Allowed calls with the path in the slot, enough of them for any per-process memory cache. */
static void warm(const char* p) {
  for (int i = 0; i < 40; i++)
    if (access(p, F_OK) != 0) { printf("warm-up access(%s) failed: %s\n", p, strerror(errno)); _exit(2); }
}

static void exec_new_image(const char* how) {
  char* args[] = {SELF, T, "--new-image", (char*)how, NULL};
  execv(SELF, args);
  printf("exec: %s\n", strerror(errno));
  _exit(2);
}

/* The new image: the secret's path at the slot. */
static int new_image(const char* how) {
  char* p = slot();
  int bad = 0;
  snprintf(p, 4096, "%s", SECRET);
  for (int i = 0; i < 3; i++) {
    errno = 0;
    if (access(p, F_OK) == 0) { printf("LEAK (%s): access() of the secret succeeded\n", how); bad = 1; break; }
    if (errno != EACCES) { printf("(%s) access() of the secret: %s, want EACCES\n", how, strerror(errno)); bad = 1; }
    int fd = open(p, O_RDONLY);
    if (fd >= 0) {
      char buf[64] = {0};
      (void)!read(fd, buf, sizeof buf - 1);
      printf("LEAK (%s): open() of the secret gave a descriptor (read: %.20s...)\n", how, buf);
      close(fd);
      bad = 1;
      break;
    }
  }
  /* The new memory is read, not merely refused: an allowed path there works. */
  snprintf(p, 4096, "%s", DECOY);
  if (access(p, F_OK) != 0) { printf("(%s) access() of the decoy failed: %s\n", how, strerror(errno)); return 3; }
  fprintf(stderr, "file_exec_memory (%s): %s\n", how, bad ? "escaped" : "held");
  return bad;
}

static int wait_for(pid_t pid, const char* how) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 2; }
  if (!WIFEXITED(st)) { printf("(%s) new image died: status %#x\n", how, st); return 2; }
  return WEXITSTATUS(st);
}

static void* thread_exec(void* arg) {
  (void)arg;
  exec_new_image("thread");
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(DECOY, sizeof DECOY, "%s/decoy", WS);
  ssize_t n = readlink("/proc/self/exe", SELF, sizeof SELF - 1);
  if (n <= 0) { perror("readlink /proc/self/exe"); return 2; }
  SELF[n] = 0;
  if (argc > 3 && strcmp(argv[2], "--new-image") == 0) return new_image(argv[3]);

  int fd = open(DECOY, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("create decoy"); return 2; }
  (void)!write(fd, "decoy\n", 6);
  close(fd);
  int worst = 0, r;

  /* 1. vfork: the child's calls read the parent's memory (shared), then the child execs;
   * the parent's slot still holds the allowed path. */
  {
    char* p = slot();
    snprintf(p, 4096, "%s", DECOY);
    warm(p);
    pid_t c = vfork();
    if (c == 0) {
      warm(p);
      exec_new_image("vfork");
    }
    if (c < 0) { perror("vfork"); return 2; }
    r = wait_for(c, "vfork");
    if (strcmp(p, DECOY) != 0) { printf("the parent's slot changed\n"); return 2; }
    warm(p);  /* the parent's own reads are still right */
    munmap(p, 4096);
    if (r > worst) worst = r;
  }
  /* 2. a plain exec after calls from the old image; 3. an exec from a second thread. */
  for (int k = 0; k < 2; k++) {
    pid_t c = fork();
    if (c == 0) {
      char* p = slot();
      snprintf(p, 4096, "%s", DECOY);
      warm(p);
      if (k == 0) exec_new_image("exec");
      pthread_t t;
      if (pthread_create(&t, NULL, thread_exec, NULL) != 0) _exit(2);
      for (;;) (void)!access(p, F_OK);  /* calls from the old image until the exec ends it */
    }
    if (c < 0) { perror("fork"); return 2; }
    r = wait_for(c, k == 0 ? "exec" : "thread");
    if (r > worst) worst = r;
  }
  return worst == 1 ? 1 : worst;
}
