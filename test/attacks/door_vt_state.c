/* Console state that outlives the process, on a Linux virtual terminal that is the
 * session's controlling terminal (the user ran guardian from the console): the keyboard
 * mode (KDSKBMODE K_OFF or K_RAW: nothing typed reaches the user's shell once the session
 * ends), the display mode (KDSETMODE KD_GRAPHICS: the console stops drawing text), the
 * meta key and the screen map stay as set, and any user may set them on a terminal that is
 * theirs. The attack: a child makes /dev/tty1 its controlling terminal (setsid, TIOCSCTTY) and
 * flips the keyboard mode between Unicode and ASCII and the meta key handling (benign
 * values that show the same ioctls as the harmful ones), checked by reading them back and
 * put back as they were. Needs root (to open the console) and a console nobody holds. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "door.h"

enum { kClosed = 10, kOpened = 11, kSkip = 12 };

static int child(void) {
  if (setsid() < 0) return kSkip;
  /* Taken as the controlling terminal with TIOCSCTTY (an open without O_NOCTTY would do it
   * natively, but under guardian the supervisor makes the open). */
  int fd = open("/dev/tty1", O_RDONLY | O_NOCTTY);
  if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) != 0) return kSkip;
  /* The getters write an int; the setters take the value itself. */
  int mode = -1, meta = -1;
  if (ioctl(fd, KDGKBMODE, &mode) != 0 || ioctl(fd, KDGKBMETA, &meta) != 0) return kSkip;
  const int other_mode = mode == K_UNICODE ? K_XLATE : K_UNICODE;
  const int other_meta = meta == K_METABIT ? K_ESCPREFIX : K_METABIT;
  int opened_any = 0, refused = 0;
  if (ioctl(fd, KDSKBMODE, (long)other_mode) == 0) {
    int now = -1;
    if (ioctl(fd, KDGKBMODE, &now) == 0 && now == other_mode) opened_any = 1;
    (void)!ioctl(fd, KDSKBMODE, (long)mode);
  } else if (errno == EPERM) {
    refused = 1;
  }
  if (ioctl(fd, KDSKBMETA, (long)other_meta) == 0) {
    int now = -1;
    if (ioctl(fd, KDGKBMETA, &now) == 0 && now == other_meta) opened_any = 1;
    (void)!ioctl(fd, KDSKBMETA, (long)meta);
  } else if (errno == EPERM) {
    refused = 1;
  }
  if (opened_any) return kOpened;
  return refused ? kClosed : kSkip;
}

int main(void) {
  if (geteuid() != 0) skip("not root: the console cannot be opened");
  if (access("/dev/tty1", F_OK) != 0) skip("no virtual terminal");
  pid_t pid = fork();
  if (pid < 0) skip("fork: %s", strerror(errno));
  if (pid == 0) _exit(child());
  int st = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) skip("the child did not exit");
  switch (WEXITSTATUS(st)) {
    case kOpened: opened("KDSKBMODE/KDSKBMETA changed the console's keyboard");
    case kClosed: closed("KDSKBMODE and KDSKBMETA refused");
    default: skip("the console cannot be taken here (in use, or not a virtual terminal)");
  }
}
