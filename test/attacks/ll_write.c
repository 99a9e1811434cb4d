/* Escape attempt: create and write a file outside every write prefix.
 * Exit 0 when the write happened (the escape worked), 1 with the errno otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    fprintf(stderr, "ll_write: open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  if (write(fd, "pwned\n", 6) != 6) return 1;
  return close(fd) == 0 ? 0 : 1;
}
