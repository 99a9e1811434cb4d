/* Escape attempt: rewrite the record of what the session did. The audit log lies where
 * the profile lets the session write (`-a audit.jsonl` in the current directory, which
 * default makes writable): truncate it, append a forged record, replace it by rename, a
 * hard link or a symbolic link, remove it, change its mode, and make a file where its next
 * rotation would go. run_audit_tamper.sh then checks the log with `guardian audit verify`
 * (hash chain, gap-free seq, a session_end) and that no forged text is in it. argv[1] is the
 * log's path as given to guardian. Then guardian's own program, a copy in the same writable
 * directory (argv[2]): replaced, the user's next run would be the session's code, unconfined.
 * Exit 1 when any of it succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int done = 0;
static void note(const char* what, int ok) {
  printf("%s: %s\n", what, ok ? "DONE" : strerror(errno));
  done |= ok;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* log = argv[1];
  char p[4096];
  note("truncate", truncate(log, 0) == 0);
  int fd = open(log, O_WRONLY | O_APPEND);
  note("open for appending", fd >= 0);
  if (fd >= 0) { (void)!write(fd, "{\"forged\":1}\n", 13); close(fd); }
  fd = open(log, O_RDONLY | O_TRUNC);
  note("open with O_TRUNC", fd >= 0);
  if (fd >= 0) close(fd);
  snprintf(p, sizeof p, "%s.forged", log);
  fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) { (void)!write(fd, "{\"forged\":2}\n", 13); close(fd); }
  note("rename over it", rename(p, log) == 0);
  unlink(p);
  note("rename it away", rename(log, p) == 0);
  note("chmod", chmod(log, 0666) == 0);
  note("unlink", unlink(log) == 0);
  snprintf(p, sizeof p, "%s.1", log);
  fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
  note("create its first rotation", fd >= 0);
  if (fd >= 0) close(fd);
  if (argc > 2) {
    const char* prog = argv[2];
    fd = open(prog, O_WRONLY | O_APPEND);
    note("open guardian's program for writing", fd >= 0);
    if (fd >= 0) { (void)!write(fd, "forged", 6); close(fd); }
    snprintf(p, sizeof p, "%s.new", prog);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd >= 0) { (void)!write(fd, "#!/bin/sh\necho forged\n", 23); close(fd); }
    note("rename over guardian's program", rename(p, prog) == 0);
    unlink(p);
  }
  fflush(stdout);
  return done;
}
