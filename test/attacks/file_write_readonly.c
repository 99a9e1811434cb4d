/* Escape attempt: change what may only be read: reopen a read-only descriptor for
 * writing through /proc/self/fd, create/rename/link/symlink/mkdir into T/ro, chmod,
 * truncate, utimes and xattrs on it, fchmod through a read-only descriptor, and chmod of
 * the secret through a symlink planted in the writable directory. */
#include "attack.h"
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
  snprintf(lnk, sizeof lnk, "%s/to-secret", WS);
  symlink(SECRET, lnk);
  if (chmod(lnk, 0666) == 0) worked = 1;
  if (truncate(lnk, 0) == 0) worked = 1;
  if (open(lnk, O_WRONLY | O_APPEND) >= 0) worked = 1;
  printf("file_write_readonly: %s\n", worked ? "SOMETHING WORKED" : "all refused");
  return worked;
}
