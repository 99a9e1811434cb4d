/* Escape attempt: the answer of an earlier look kept past a change of names. An open the
 * supervisor leaves to the kernel (CONTINUE: the session's one task) is looked at first
 * (no symbolic link in the way, what the object is), and that look's answer serves a
 * repeated open of the same text for up to a second (guardian(1), stat family). Here the
 * process opens a regular file of the writable directory, then replaces that name with a
 * symbolic link to the secret (unlink + symlink, or a link renamed over it) and opens the
 * same text again at once: were the kept answer ("a regular file, no link") still taken,
 * the kernel's own open would follow the link to the secret. By a name relative to a
 * directory descriptor (one lstat looks), by one below the working directory, and by an
 * absolute path (openat2 refusing links looks). Prints what it read that is not the decoy;
 * exit 1 when the secret came out. */
#include "attack.h"

static int leaks;

static void try_open(int dirfd, const char* path) {
  int fd = openat(dirfd, path, O_RDONLY);
  if (fd < 0) return;
  char buf[128] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n > 0 && strncmp(buf, "decoy", 5) != 0) {
    printf("file_look_kept: read %s through %s", buf, path);
    ++leaks;
  }
}

/* `name` in `dir` (opened as `dirfd`), opened as `how` names it from `dirfd`. */
static void round_(int dirfd, const char* dir, const char* name, const char* how, int by_rename) {
  char full[2600], tmp[2600];
  snprintf(full, sizeof full, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
  unlink(full);
  int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "decoy\n", 6) != 6) { perror(full); exit(2); }
  close(fd);
  try_open(dirfd, how); /* looked at: a regular file */
  try_open(dirfd, how); /* the kept answer */
  if (by_rename) {
    unlink(tmp);
    if (symlink(SECRET, tmp) != 0 || rename(tmp, full) != 0) { perror(tmp); exit(2); }
  } else {
    if (unlink(full) != 0 || symlink(SECRET, full) != 0) { perror(full); exit(2); }
  }
  try_open(dirfd, how); /* must be looked at again: the link is seen, the secret denied */
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char dir[2400];
  snprintf(dir, sizeof dir, "%s/kept", WS);
  mkdir(dir, 0755);
  snprintf(dir, sizeof dir, "%s/kept/sub", WS);
  mkdir(dir, 0755);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0 || chdir(WS) != 0) { perror(dir); return 2; }
  char abs_name[2600];
  for (int by_rename = 0; by_rename < 2; ++by_rename) {
    round_(dfd, dir, "a", "a", by_rename);                      /* plain name in a dirfd */
    round_(AT_FDCWD, dir, "b", "kept/sub/b", by_rename);        /* below the cwd */
    snprintf(abs_name, sizeof abs_name, "%s/c", dir);
    round_(AT_FDCWD, dir, "c", abs_name, by_rename);            /* absolute */
  }
  printf("file_look_kept: %d leaks\n", leaks);
  return leaks > 0;
}
