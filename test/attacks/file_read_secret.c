/* Escape attempt: read the secret by every plain route: absolute path, relative "..",
 * a dirfd, raw syscalls, openat2, /proc/self/root and /proc/self/cwd magic links. */
#include "attack.h"
#include <linux/openat2.h>
#include <sys/syscall.h>

static int leaked = 0;
static void try_fd(const char* how, int fd) {
  if (fd < 0) { fprintf(stderr, "%s: %s\n", how, strerror(errno)); return; }
  if (dump(fd) > 0) { leaked = 1; fprintf(stderr, "%s: LEAKED\n", how); }
  close(fd);
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char p[4096];
  try_fd("open", open(SECRET, O_RDONLY));
  if (chdir(WS) == 0) try_fd("relative ..", open("../secret/secret.txt", O_RDONLY));
  int d = open(T, O_PATH | O_DIRECTORY);
  try_fd("openat dirfd", openat(d, "secret/secret.txt", O_RDONLY));
  try_fd("raw SYS_open", (int)syscall(SYS_open, SECRET, O_RDONLY));
  struct open_how how = {.flags = O_RDONLY};
  try_fd("openat2", (int)syscall(SYS_openat2, AT_FDCWD, SECRET, &how, sizeof how));
  snprintf(p, sizeof p, "/proc/self/root%s", SECRET);
  try_fd("/proc/self/root", open(p, O_RDONLY));
  try_fd("/proc/self/cwd", open("/proc/self/cwd/../secret/secret.txt", O_RDONLY));
  try_fd("/proc/thread-self/cwd", open("/proc/thread-self/cwd/../secret/secret.txt", O_RDONLY));
  snprintf(p, sizeof p, "%s/ws/../secret//./secret.txt", T);
  try_fd("dot-dot path", open(p, O_RDONLY));
  return leaked;
}
