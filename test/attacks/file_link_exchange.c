/* Escape attempt: give the secret a name in the writable directory, or read it through a
 * name that is not its own: a hard link (link, linkat of /proc/self/fd/N with
 * AT_SYMLINK_FOLLOW, linkat AT_EMPTY_PATH), RENAME_EXCHANGE of the secret with a file of
 * the writable directory, and openat2 with odd resolve flags and an oversized open_how.
 * Prints what it reads; exit 1 when any of it worked. */
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "attack.h"

static int leaked = 0;
static void try_read(const char* how, const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return;
  if (dump(fd) > 0) {
    leaked = 1;
    fprintf(stderr, "%s: LEAKED\n", how);
  }
  close(fd);
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char name[2400], fdp[64];
  snprintf(name, sizeof name, "%s/linked", WS);
  if (link(SECRET, name) == 0) try_read("link", name);
  int op = open(SECRET, O_PATH);
  if (op >= 0) {
    snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", op);
    if (linkat(AT_FDCWD, fdp, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) try_read("linkat follow", name);
    if (linkat(op, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0) try_read("linkat empty", name);
    try_read("O_PATH reopen", fdp);
  }
  snprintf(name, sizeof name, "%s/swap", WS);
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) close(fd);
  if (syscall(SYS_renameat2, AT_FDCWD, SECRET, AT_FDCWD, name, 2 /* RENAME_EXCHANGE */) == 0) {
    try_read("exchange", name);
    leaked = 1;  /* the secret moved: that alone changed what may not be written */
  }
  static char big[8192];
  struct open_how* how = (struct open_how*)big;
  how->flags = O_RDONLY;
  unsigned long long resolves[] = {0, RESOLVE_IN_ROOT, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_CACHED};
  int tfd = open(T, O_PATH | O_DIRECTORY);
  for (unsigned i = 0; i < sizeof resolves / sizeof resolves[0]; ++i) {
    how->resolve = resolves[i];
    for (size_t size = sizeof *how; size <= 4096; size = size == sizeof *how ? 4096 : 8192) {
      int f = (int)syscall(SYS_openat2, tfd, "secret/secret.txt", how, size);
      if (f < 0) f = (int)syscall(SYS_openat2, AT_FDCWD, SECRET, how, size);
      if (f >= 0) {
        if (dump(f) > 0) leaked = 1;
        close(f);
      }
    }
  }
  printf("file_link_exchange: %s\n", leaked ? "SOMETHING WORKED" : "all refused");
  return leaked;
}
