/* Escape attempt (root): make a device node where the profile allows writing and reach the
 * device through it, below every path decision: the block device that holds the fixture
 * (its file system's raw bytes, the secret's included), and /dev/mem's and /dev/kmsg's
 * character devices. By mknod and mknodat; a FIFO and a socket node must still be made. The
 * runner checks that no block or character device appeared under T/ws. Exit 1 when a
 * device node was made (and says whether the raw file system could be read). */
#include "attack.h"
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static int made = 0;

static void try_node(const char* name, mode_t type, dev_t dev, int at) {
  char p[2400];
  snprintf(p, sizeof p, "%s/%s", WS, name);
  long r = at ? syscall(SYS_mknodat, AT_FDCWD, p, type | 0600, dev) : syscall(SYS_mknod, p, type | 0600, dev);
  if (r != 0) {
    printf("mknod%s %s (%u:%u): %s\n", at ? "at" : "", name, major(dev), minor(dev), strerror(errno));
    return;
  }
  made = 1;
  printf("made device node %s (%u:%u)\n", name, major(dev), minor(dev));
  int fd = open(p, O_RDONLY);
  if (fd < 0) {
    printf("  open: %s\n", strerror(errno));
    return;
  }
  unsigned char sb[2048];
  if (pread(fd, sb, sizeof sb, 0) == (ssize_t)sizeof sb && sb[1080] == 0x53 && sb[1081] == 0xef)
    printf("  read the raw ext file system holding the secret (superblock magic)\n");
  close(fd);
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  struct stat st;
  if (stat(WS, &st) != 0) { perror("stat ws"); return 2; }
  try_node("disk", S_IFBLK, st.st_dev, 0);
  try_node("disk-at", S_IFBLK, st.st_dev, 1);
  try_node("mem", S_IFCHR, makedev(1, 1), 0);
  try_node("kmsg-at", S_IFCHR, makedev(1, 11), 1);
  /* What a program may still make: a FIFO and a socket node. */
  char p[2400];
  snprintf(p, sizeof p, "%s/fifo", WS);
  if (mknod(p, S_IFIFO | 0600, 0) != 0) { printf("FAIL: mkfifo: %s\n", strerror(errno)); return 3; }
  snprintf(p, sizeof p, "%s/sock", WS);
  if (mknod(p, S_IFSOCK | 0600, 0) != 0) { printf("FAIL: socket node: %s\n", strerror(errno)); return 3; }
  fflush(stdout);
  return made;
}
