/* Escape attempt: move a protected tree by renaming a directory above it. The fixture
 * protects T/ws/.git/hooks (deny_write) and T/ws/.keys (deny, holds the secret's token)
 * inside the writable T/ws. Rename .git away, plant a hook in the moved tree and rename it
 * back (and by RENAME_EXCHANGE); rename .keys (or exchange it with an empty directory) and
 * read the key under the new name. The runner compares T/ws/.git/hooks and checks the
 * token never came out. Exit 1 when a hook was planted or the key was read. */
#include <sys/syscall.h>

#include "attack.h"

static char P[8][2400];
static const char* at(int i, const char* rel) {
  snprintf(P[i], sizeof P[i], "%s/%s", WS, rel);
  return P[i];
}

static void plant(const char* dir) {
  char p[2600];
  snprintf(p, sizeof p, "%s/hooks", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/hooks/pre-commit", dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (fd >= 0) {
    (void)!write(fd, "#!/bin/sh\ntouch pwned\n", 22);
    close(fd);
  }
}

static int read_key(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  long n = dump(fd);
  close(fd);
  if (n > 0) fprintf(stderr, "read %s\n", path);
  return n > 0;
}

static long exchange(const char* a, const char* b) {
  return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  int worked = 0;
  const char *git = at(0, ".git"), *g2 = at(1, "g2"), *hook = at(2, ".git/hooks/pre-commit");
  /* mv .git g2; plant; mv g2 .git */
  if (rename(git, g2) == 0) {
    plant(g2);
    if (rename(g2, git) != 0) fprintf(stderr, "rename back: %s\n", strerror(errno));
  } else {
    fprintf(stderr, "rename .git: %s\n", strerror(errno));
  }
  /* a new tree swapped in for .git, and one for .git/hooks */
  const char* fresh = at(3, "fresh");
  mkdir(fresh, 0755);
  plant(fresh);
  if (exchange(fresh, git) == 0) worked = 1;
  else fprintf(stderr, "exchange .git: %s\n", strerror(errno));
  char fh[2600];
  snprintf(fh, sizeof fh, "%s/hooks", fresh);
  if (exchange(fh, at(4, ".git/hooks")) == 0) worked = 1;
  else fprintf(stderr, "exchange .git/hooks: %s\n", strerror(errno));
  if (access(hook, F_OK) == 0) {
    fprintf(stderr, "planted %s\n", hook);
    worked = 1;
  }
  /* mv .keys k2; cat k2/key.txt; and by exchange with an empty directory */
  const char *keys = at(5, ".keys"), *k2 = at(6, "k2"), *empty = at(7, "empty");
  char key[2600];
  if (rename(keys, k2) == 0) {
    snprintf(key, sizeof key, "%s/key.txt", k2);
    worked |= read_key(key);
  } else {
    fprintf(stderr, "rename .keys: %s\n", strerror(errno));
  }
  mkdir(empty, 0755);
  if (exchange(empty, keys) == 0) {
    snprintf(key, sizeof key, "%s/key.txt", empty);
    worked |= read_key(key);
  } else {
    fprintf(stderr, "exchange .keys: %s\n", strerror(errno));
  }
  /* An ordinary directory still moves. */
  const char *d1 = at(0, "plain"), *d2 = at(1, "plain2");
  mkdir(d1, 0755);
  if (rename(d1, d2) != 0) {
    fprintf(stderr, "FAIL: an ordinary directory did not move: %s\n", strerror(errno));
    return 3;
  }
  return worked;
}
