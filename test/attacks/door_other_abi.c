/* Other syscall ABIs bypass x86_64 syscall numbers in a naive filter: i386 through int 0x80
 * and x32 numbers. The attack: mkdir through each; guardian kills the process instead. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "door.h"

#define X32_BIT 0x40000000

static void try_int80(const char* path) {
  /* 32-bit syscalls take 32-bit pointers: copy the path below 4 GiB. */
  char* low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED) _exit(3);
  strcpy(low, path);
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(39 /* i386 mkdir */), "b"(low), "c"(0755) : "memory");
  _exit(ret == 0 ? 0 : 4);
}

static void try_x32(const char* path) {
  long ret = syscall(X32_BIT | __NR_mkdir, path, 0755);
  _exit(ret == 0 ? 0 : 4);
}

static int run(void (*f)(const char*), const char* path, const char* name) {
  pid_t c = fork();
  if (c == 0) f(path);
  int st;
  waitpid(c, &st, 0);
  struct stat sb;
  int made = stat(path, &sb) == 0;
  printf("%s: %s, directory %s\n", name,
         WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited",
         made ? "created" : "not created");
  return made;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char p1[4096], p2[4096];
  snprintf(p1, sizeof p1, "%s/int80_dir", argv[1]);
  snprintf(p2, sizeof p2, "%s/x32_dir", argv[1]);
  int a = run(try_int80, p1, "int 0x80 mkdir");
  int b = run(try_x32, p2, "x32 mkdir");
  if (a || b) opened("a directory was created through another ABI");
  closed("no directory created through int 0x80 or x32");
}
