/* Escape attempt: read a file outside every read prefix and print its bytes.
 * Exit 0 when the bytes came out (the escape worked), 1 with the errno otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    fprintf(stderr, "ll_read: open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  return n < 0 ? 1 : 0;
}
