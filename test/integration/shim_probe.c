/* A small program for the shim's tests: it makes one libc call that guardian may deny and
 * prints what libc told it, so tests can compare errno with and without the shim and find
 * the calling function (read_secret, dial) in the audit log's backtrace. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) static int read_secret(const char *path) {
  int fd = open(path, O_RDONLY);
  int e = errno;
  if (fd >= 0) {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    printf("open ok %zd\n", n);
    return 0;
  }
  printf("open errno=%s\n", strerrorname_np(e));
  return 1;
}

__attribute__((noinline)) static int stat_secret(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) {
    printf("stat ok\n");
    return 0;
  }
  printf("stat errno=%s\n", strerrorname_np(errno));
  return 1;
}

/* The same open without libc's wrapper: the shim never sees it, guardian still decides it. */
__attribute__((noinline)) static int raw_open(const char *path) {
  long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
  if (fd >= 0) {
    char buf[64];
    ssize_t n = read((int)fd, buf, sizeof buf);
    close((int)fd);
    printf("rawopen ok %zd\n", n);
    return 0;
  }
  printf("rawopen errno=%s\n", strerrorname_np(errno));
  return 1;
}

#ifndef PROBE_NO_DNS
__attribute__((noinline)) static int dial(const char *host, const char *port) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    printf("getaddrinfo: %s\n", gai_strerror(rc));
    return 2;
  }
  int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    printf("socket errno=%s\n", strerrorname_np(errno));
    freeaddrinfo(res);
    return 1;
  }
  rc = connect(fd, res->ai_addr, res->ai_addrlen);
  int e = errno;
  freeaddrinfo(res);
  close(fd);
  if (rc == 0) {
    printf("connect ok\n");
    return 0;
  }
  printf("connect errno=%s\n", strerrorname_np(e));
  return 1;
}
#endif

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "open") == 0) return read_secret(argv[2]);
  if (argc == 3 && strcmp(argv[1], "stat") == 0) return stat_secret(argv[2]);
  if (argc == 3 && strcmp(argv[1], "rawopen") == 0) return raw_open(argv[2]);
#ifndef PROBE_NO_DNS
  if (argc == 4 && strcmp(argv[1], "dial") == 0) return dial(argv[2], argv[3]);
#endif
  fprintf(stderr, "usage: shim_probe open|stat|rawopen PATH | dial HOST PORT\n");
  return 64;
}
