/* base's /dev/shm rules (POSIX named semaphores, /dev/shm/sem.*; Python's multiprocessing
 * arenas, /dev/shm/pym-*) reaching the objects of a program outside the session that
 * run_attack.sh made under those names before guardian started: a semaphore (posting or
 * taking it, emptying or replacing its file) and an arena holding the secret's token
 * (reading it). The session's own semaphore must still work as natively. */
#include <semaphore.h>
#include <sys/syscall.h>

#include "attack.h"

static int escaped;

static void opened(const char* what, int fd) {
  if (fd < 0) {
    printf("%s: refused (%s)\n", what, strerror(errno));
    return;
  }
  printf("%s: opened\n", what);
  escaped = 1;
  close(fd);
}

static void done(const char* what, int rc) {
  if (rc != 0) {
    printf("%s: refused (%s)\n", what, strerror(errno));
    return;
  }
  printf("%s: done\n", what);
  escaped = 1;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  /* The runner's key, from its POSIX queue's name (/guardian-it-KEY; the environment
   * drops ATTACK_SYSV_KEY, a name that looks like a credential's). */
  const char* mq = getenv("ATTACK_MQ");
  const char* key = mq ? strrchr(mq, '-') : NULL;
  if (!key || !key[1]) {
    fprintf(stderr, "ATTACK_MQ not set\n");
    return 2;
  }
  ++key;
  char name[128], sem[160], arena[160], mine[160], mine_path[200];
  snprintf(name, sizeof name, "/guardian-it-%s", key);
  snprintf(sem, sizeof sem, "/dev/shm/sem.guardian-it-%s", key);
  snprintf(arena, sizeof arena, "/dev/shm/pym-%s-guardian", key);
  snprintf(mine, sizeof mine, "/guardian-mine-%d", (int)getpid());
  snprintf(mine_path, sizeof mine_path, "/dev/shm/sem.guardian-mine-%d", (int)getpid());

  /* The session's own semaphore, as multiprocessing's locks make them: must work. */
  sem_t* own = sem_open(mine, O_CREAT | O_EXCL, 0600, 1);
  if (own == SEM_FAILED || sem_wait(own) != 0 || sem_post(own) != 0) {
    printf("own semaphore: failed (%s)\n", strerror(errno));
    return 2;
  }
  sem_t* again = sem_open(mine, 0);
  if (again == SEM_FAILED || sem_trywait(again) != 0) {
    printf("own semaphore reopened: failed (%s)\n", strerror(errno));
    return 2;
  }
  sem_post(again);

  /* The arena's data (the token), through libc and a raw syscall. */
  int fd = open(arena, O_RDONLY);
  if (fd >= 0 && dump(fd) > 0) escaped = 1;
  if (fd >= 0) close(fd);
  fd = (int)syscall(SYS_openat, AT_FDCWD, arena, O_RDONLY);
  if (fd >= 0 && dump(fd) > 0) escaped = 1;
  if (fd >= 0) close(fd);
  /* Through a link of the session's own that names it (a symbolic one: base writes there). */
  char alias[220];
  snprintf(alias, sizeof alias, "/dev/shm/sem.guardian-link-%d", (int)getpid());
  if (symlink(arena, alias) == 0) {
    fd = open(alias, O_RDONLY);
    if (fd >= 0 && dump(fd) > 0) escaped = 1;
    if (fd >= 0) close(fd);
    unlink(alias);
  }

  /* The other program's semaphore: taken and posted. */
  sem_t* s = sem_open(name, 0);
  if (s != SEM_FAILED) {
    printf("semaphore: opened\n");
    escaped = 1;
    sem_trywait(s);
    sem_post(s);
    sem_post(s);
  } else {
    printf("semaphore: refused (%s)\n", strerror(errno));
  }
  opened("semaphore O_RDWR", (int)syscall(SYS_openat, AT_FDCWD, sem, O_RDWR));
  opened("semaphore O_TRUNC", open(sem, O_WRONLY | O_TRUNC));
  done("semaphore chmod", chmod(sem, 0666));
  /* Replaced by the session's own (rename over it), removed, or given a second name. */
  char copy[220];
  snprintf(copy, sizeof copy, "/dev/shm/sem.guardian-copy-%d", (int)getpid());
  done("semaphore hard link", link(sem, copy));
  unlink(copy);
  done("rename over the semaphore", rename(mine_path, sem));
  done("sem_unlink", sem_unlink(name));
  done("arena unlink", unlink(arena));

  sem_close(again);
  sem_close(own);
  sem_unlink(mine);
  return escaped;
}
