/* Escape attempt against the supervisor's stat-family resolution cache: stat a harmless
 * file at WS/d/secret.txt (allowed, so its resolution is kept), then swap WS/d for a
 * symlink to the secret's directory — by rename, then by rmdir — and stat the same text
 * again, with stat, lstat of a symlinked leaf, access and readlink. Guardian must see
 * the swap: the second look is the secret's metadata and must be refused. Exit 1 when
 * a look through the swapped path succeeded (the secret's size or inode came out). */
#include "attack.h"

static char D[2300], P[2400], OLD[2300], LEAF[2300];

static int leaked(const char* how, const struct stat* secret) {
  struct stat st;
  if (stat(P, &st) == 0 && (st.st_ino == secret->st_ino || st.st_size == secret->st_size)) {
    printf("LEAK (%s): stat saw the secret, inode %lu size %ld\n", how,
           (unsigned long)st.st_ino, (long)st.st_size);
    return 1;
  }
  if (access(P, F_OK) == 0) {
    printf("LEAK (%s): access() says the secret exists\n", how);
    return 1;
  }
  return 0;
}

static void decoy(void) {
  mkdir(D, 0755);
  int fd = open(P, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) { (void)!write(fd, "x", 1); close(fd); }
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(D, sizeof D, "%s/d", WS);
  snprintf(P, sizeof P, "%s/secret.txt", D);
  snprintf(OLD, sizeof OLD, "%s/old", WS);
  snprintf(LEAF, sizeof LEAF, "%s/leaf", WS);
  char secret_dir[2300];
  snprintf(secret_dir, sizeof secret_dir, "%s/secret", T);
  /* What the secret looks like (guardian refuses us; the runner's fixture sizes are known:
   * "tok-" + 16 hex digits + newline). */
  struct stat secret = {0};
  secret.st_size = 21;
  secret.st_ino = (ino_t)-1;
  int bad = 0;
  struct stat st;

  /* 1. rename the directory away, symlink in its place. */
  decoy();
  for (int i = 0; i < 3; i++)
    if (stat(P, &st) != 0 || access(P, F_OK) != 0) { printf("decoy stat failed: %s\n", strerror(errno)); return 2; }
  if (rename(D, OLD) != 0 || symlink(secret_dir, D) != 0) { perror("swap"); return 2; }
  bad |= leaked("rename", &secret);

  /* 2. the same after rmdir. */
  unlink(D);
  decoy();
  for (int i = 0; i < 3; i++) (void)!stat(P, &st);
  unlink(P);
  if (rmdir(D) != 0 || symlink(secret_dir, D) != 0) { perror("swap2"); return 2; }
  bad |= leaked("rmdir", &secret);

  /* 3. a leaf: a regular file looked at, then replaced by a symlink to the secret. */
  int fd = open(LEAF, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) close(fd);
  for (int i = 0; i < 3; i++) (void)!stat(LEAF, &st);
  unlink(LEAF);
  if (symlink(SECRET, LEAF) != 0) { perror("swap3"); return 2; }
  if (stat(LEAF, &st) == 0 && st.st_size == secret.st_size) {
    printf("LEAK (leaf): stat followed the new symlink to the secret, size %ld\n", (long)st.st_size);
    bad = 1;
  }
  char buf[256];
  /* readlink of the leaf is a look at the link itself (in WS): allowed, and says where. */
  if (readlink(LEAF, buf, sizeof buf) < 0) printf("readlink of our own link failed: %s\n", strerror(errno));
  fprintf(stderr, "file_stat_swap: %s\n", bad ? "escaped" : "held");
  return bad;
}
