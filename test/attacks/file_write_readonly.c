/* Escape attempt: change what may only be read: reopen a read-only descriptor for
 * writing through /proc/self/fd, create/rename/link/symlink/mkdir into T/ro, chmod,
 * truncate, utimes and xattrs on it, fchmod, chattr (FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR) and
 * the generation (FS_IOC_SETVERSION, EXT4_IOC_SETVERSION), fs-verity (FS_IOC_ENABLE_VERITY,
 * which makes the file immutable and must be asked through a read-only descriptor)
 * through a read-only descriptor, and chmod of
 * the secret through a symlink planted in the writable directory. */
#include "attack.h"
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>

int main(int argc, char** argv) {
  fixture(argc, argv);
  char ro[2300], p[2400], q[2400], lnk[2400];
  int worked = 0;
  snprintf(ro, sizeof ro, "%s/ro.txt", RO);
  int fd = open(ro, O_RDONLY);
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  int w = open(p, O_WRONLY | O_TRUNC);
  if (w >= 0 && write(w, "PWNED", 5) == 5) worked = 1;
  if (fchmod(fd, 0666) == 0) worked = 1;
  if (fsetxattr(fd, "user.pwned", "1", 1, 0) == 0) worked = 1;
  snprintf(p, sizeof p, "%s/created", RO);
  if (open(p, O_WRONLY | O_CREAT, 0644) >= 0) worked = 1;
  if (mkdir(p, 0755) == 0) worked = 1;
  if (symlink("/", p) == 0) worked = 1;
  snprintf(q, sizeof q, "%s/moved", WS);
  if (open(q, O_WRONLY | O_CREAT, 0644) >= 0 && rename(q, p) == 0) worked = 1;
  if (link(q, p) == 0) worked = 1;
  if (rename(ro, q) == 0) worked = 1;
  if (unlink(ro) == 0) worked = 1;
  if (chmod(ro, 0666) == 0) worked = 1;
  if (truncate(ro, 0) == 0) worked = 1;
  if (utimes(ro, NULL) == 0) worked = 1;
  if (setxattr(ro, "user.pwned", "1", 1, 0) == 0) worked = 1;
  /* chattr through the read-only descriptor: nodump (any owner may set it), and the same
   * through the fsxattr structure. Where the file system has no such flags the kernel
   * says ENOTTY or EOPNOTSUPP either way. */
  int flags = 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
    int set = flags | FS_NODUMP_FL;
    if (ioctl(fd, FS_IOC_SETFLAGS, &set) == 0) worked = 1;
    struct fsxattr fx;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &fx) == 0) {
      fx.fsx_xflags |= FS_XFLAG_NODUMP;
      if (ioctl(fd, FS_IOC_FSSETXATTR, &fx) == 0) worked = 1;
    }
  }
  /* The inode's generation (lsattr -v), through the same descriptor: by the generic
   * command and by ext4's own, each with its 32-bit number. */
  int gen = 0;
  if (ioctl(fd, FS_IOC_GETVERSION, &gen) == 0) {
    const unsigned long cmds[] = {FS_IOC_SETVERSION, FS_IOC32_SETVERSION, 0x40086604UL, 0x40046604UL};
    for (unsigned i = 0; i < sizeof cmds / sizeof cmds[0]; ++i) {
      int set = gen + 1 + (int)i;
      if (ioctl(fd, cmds[i], &set) == 0) worked = 1;
    }
  }
  /* fs-verity: where the file system has none the kernel says EOPNOTSUPP or ENOTTY; any
   * answer but the refusal means the call reached it. */
  struct fsverity_enable_arg va;
  memset(&va, 0, sizeof va);
  va.version = 1;
  va.hash_algorithm = FS_VERITY_HASH_ALG_SHA256;
  va.block_size = 4096;
  errno = 0;
  if (ioctl(fd, FS_IOC_ENABLE_VERITY, &va) == 0 || errno != EACCES) {
    fprintf(stderr, "FS_IOC_ENABLE_VERITY reached the kernel: %s\n", strerror(errno));
    worked = 1;
  }
  snprintf(lnk, sizeof lnk, "%s/to-secret", WS);
  symlink(SECRET, lnk);
  if (chmod(lnk, 0666) == 0) worked = 1;
  if (truncate(lnk, 0) == 0) worked = 1;
  if (open(lnk, O_WRONLY | O_APPEND) >= 0) worked = 1;
  printf("file_write_readonly: %s\n", worked ? "SOMETHING WORKED" : "all refused");
  return worked;
}
