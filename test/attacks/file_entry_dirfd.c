/* Escape attempt: name operations (unlinkat, renameat, mkdirat, symlinkat, linkat) on a
 * plain name in a directory descriptor, the way rm -r and tar make them: a descriptor of
 * the read-only directory or of the repository's hooks must not let the process remove,
 * replace or add names there, whatever the descriptor was opened with (O_RDONLY, O_PATH).
 * The same calls in the writable directory must work. Exit 1 when a forbidden one worked,
 * 3 when an allowed one failed. */
#include "attack.h"

static int escapes, failures;

static void forbidden(const char* what, int rc) {
  if (rc == 0) {
    printf("file_entry_dirfd: %s worked\n", what);
    ++escapes;
  }
}

static void allowed(const char* what, int rc) {
  if (rc != 0) {
    printf("file_entry_dirfd: %s failed: %s\n", what, strerror(errno));
    ++failures;
  }
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  char hooks[2400], sub[2400], rofile[2400];
  snprintf(rofile, sizeof rofile, "%s/ro.txt", RO);
  snprintf(hooks, sizeof hooks, "%s/.git/hooks", WS);
  snprintf(sub, sizeof sub, "%s/entry", WS);
  mkdir(sub, 0755);
  int ro = open(RO, O_RDONLY | O_DIRECTORY);
  int ro_path = open(RO, O_PATH | O_DIRECTORY);
  int hk = open(hooks, O_PATH | O_DIRECTORY);
  int ws = open(sub, O_RDONLY | O_DIRECTORY);
  if (ro < 0 || ro_path < 0 || hk < 0 || ws < 0) {
    perror("open");
    return 2;
  }
  int dirs[2] = {ro, ro_path};
  for (int i = 0; i < 2; ++i) {
    int d = dirs[i];
    forbidden("unlinkat(ro, ro.txt)", unlinkat(d, "ro.txt", 0));
    forbidden("renameat(ro, ro.txt, ws, stolen)", renameat(d, "ro.txt", ws, "stolen"));
    forbidden("mkdirat(ro, made)", mkdirat(d, "made", 0755));
    forbidden("symlinkat(secret, ro, link)", symlinkat(SECRET, d, "link"));
    forbidden("linkat(ro.txt, ro, hard)", linkat(AT_FDCWD, rofile, d, "hard", 0));
  }
  forbidden("unlinkat(hooks, pre-push)", unlinkat(hk, "pre-push", 0));
  int fd = openat(ws, "evil", O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (fd >= 0) {
    (void)!write(fd, "#!/bin/sh\necho evil\n", 20);
    close(fd);
  }
  forbidden("renameat(ws, evil, hooks, pre-commit)", renameat(ws, "evil", hk, "pre-commit"));
  forbidden("renameat(ws, evil, hooks, pre-push)", renameat(ws, "evil", hk, "pre-push"));
  forbidden("symlinkat(evil, hooks, post-checkout)", symlinkat("../../entry/evil", hk, "post-checkout"));
  /* The writable directory, by its descriptor: as natively. */
  allowed("mkdirat(ws, d)", mkdirat(ws, "d", 0755));
  allowed("unlinkat(ws, d, AT_REMOVEDIR)", unlinkat(ws, "d", AT_REMOVEDIR));
  allowed("renameat(ws, evil, ws, moved)", renameat(ws, "evil", ws, "moved"));
  allowed("symlinkat(moved, ws, l)", symlinkat("moved", ws, "l"));
  allowed("unlinkat(ws, l)", unlinkat(ws, "l", 0));
  allowed("unlinkat(ws, moved)", unlinkat(ws, "moved", 0));
  if (unlinkat(ws, "moved", 0) == 0 || errno != ENOENT) {
    printf("file_entry_dirfd: unlinkat of a missing name: %s, not ENOENT\n", strerror(errno));
    ++failures;
  }
  printf("file_entry_dirfd: %d escapes, %d failures\n", escapes, failures);
  if (escapes) return 1;
  return failures ? 3 : 0;
}
