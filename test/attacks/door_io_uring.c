/* io_uring performs file and network I/O without syscalls a supervisor sees: an open ring
 * is an escape. The attack: create a ring and submit an IORING_OP_OPENAT creating a file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "door.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/io_uring_created", argv[1]);
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) {
    if (errno == ENOSYS || errno == EPERM) closed("io_uring_setup: %s", strerror(errno));
    skip("io_uring_setup: %s", strerror(errno));
  }
  size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  void* sq = mmap(0, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQ_RING);
  struct io_uring_sqe* sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe),
                                   PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || sqes == MAP_FAILED) skip("mmap of the ring failed");
  unsigned* tail = (unsigned*)((char*)sq + p.sq_off.tail);
  unsigned* mask = (unsigned*)((char*)sq + p.sq_off.ring_mask);
  unsigned* array = (unsigned*)((char*)sq + p.sq_off.array);
  struct io_uring_sqe* e = &sqes[0];
  memset(e, 0, sizeof *e);
  e->opcode = IORING_OP_OPENAT;
  e->fd = AT_FDCWD;
  e->addr = (unsigned long)path;
  e->len = 0644;
  e->open_flags = O_CREAT | O_WRONLY;
  array[*tail & *mask] = 0;
  __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
  syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
  struct stat st;
  if (stat(path, &st) == 0) opened("io_uring created %s", path);
  closed("ring created but the open did not happen");
}
