/* Escape attempt: a thread rewrites the path buffer between an allowed path and the
 * secret's for ~2 s while the main thread opens it (time-of-check to time-of-use). */
#include "race.h"

static char buf_path[4096];
static char OK[2300];
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  size_t n = strlen(OK) + 1, m = strlen(SECRET) + 1;
  while (!stop) {
    memcpy(buf_path, SECRET, m);
    memcpy(buf_path, OK, n);
  }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  snprintf(OK, sizeof OK, "%s/ro.txt", RO);
  memcpy(buf_path, OK, strlen(OK) + 1);
  return race_opens("file_path_race", buf_path, flipper, &stop);
}
