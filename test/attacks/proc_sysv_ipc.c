/* Escape attempt: reach another program's System V IPC objects and POSIX message queues,
 * which no path the program gives names. The runner makes, outside the session, a shared
 * memory segment, a message queue and a POSIX queue (ATTACK_MQ) holding the secret's token. The attack lists every segment and queue of the system by index
 * (SHM_STAT, MSG_STAT: metadata, allowed), then attaches each segment it did not make for
 * reading and writing (writing "PWNED" over it) and receives from each queue, printing what
 * it gets; also by key (shmget/msgget of the runner's keys). Its own segment and queue must
 * keep working. The runner checks the token never came out and its objects are unchanged. */
#include "attack.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <fcntl.h>
#include <mqueue.h>

int main(int argc, char** argv) {
  fixture(argc, argv);
  int worked = 0;
  /* Its own objects: these must work. */
  int mine = shmget(IPC_PRIVATE, 4096, 0600);
  char* m = mine >= 0 ? shmat(mine, NULL, 0) : (char*)-1;
  if (m == (char*)-1) { fprintf(stderr, "own segment: %s\n", strerror(errno)); return 3; }
  strcpy(m, "mine");
  shmdt(m);
  int myq = msgget(IPC_PRIVATE, 0600);
  struct { long type; char text[64]; } msg = {1, "hello"};
  if (myq < 0 || msgsnd(myq, &msg, 6, 0) != 0 || msgrcv(myq, &msg, sizeof msg.text, 0, IPC_NOWAIT) != 6) {
    fprintf(stderr, "own queue: %s\n", strerror(errno));
    return 3;
  }
  shmctl(mine, IPC_RMID, NULL);
  msgctl(myq, IPC_RMID, NULL);

  struct shm_info si;
  int max = shmctl(0, SHM_INFO, (struct shmid_ds*)&si);
  for (int i = 0; i <= max; i++) {
    struct shmid_ds ds;
    int id = shmctl(i, SHM_STAT, &ds);
    if (id < 0 || id == mine) continue;
    char* p = shmat(id, NULL, 0);
    if (p == (char*)-1) { fprintf(stderr, "shmat %d: %s\n", id, strerror(errno)); continue; }
    worked = 1;
    fprintf(stderr, "shmat %d: ATTACHED\n", id);
    printf("%.64s\n", p);
    memcpy(p, "PWNED", 6);
    shmdt(p);
  }
  struct msginfo mi;
  max = msgctl(0, MSG_INFO, (struct msqid_ds*)&mi);
  for (int i = 0; i <= max; i++) {
    struct msqid_ds ds;
    int id = msgctl(i, MSG_STAT, &ds);
    if (id < 0 || id == myq) continue;
    ssize_t n = msgrcv(id, &msg, sizeof msg.text - 1, 0, IPC_NOWAIT);
    if (n < 0) { fprintf(stderr, "msgrcv %d: %s\n", id, strerror(errno)); continue; }
    worked = 1;
    fprintf(stderr, "msgrcv %d: RECEIVED\n", id);
    printf("%.*s\n", (int)n, msg.text);
  }
  /* By key: the runner's objects use the key in ATTACK_SYSV_KEY. */
  key_t key = (key_t)atoi(env_or("ATTACK_SYSV_KEY", "0"));
  if (key) {
    int id = shmget(key, 0, 0);
    if (id >= 0) { worked = 1; fprintf(stderr, "shmget by key: %d\n", id); }
    id = msgget(key, 0);
    if (id >= 0) { worked = 1; fprintf(stderr, "msgget by key: %d\n", id); }
  }
  const char* mqn = env_or("ATTACK_MQ", "");
  if (*mqn) {
    mqd_t q = mq_open(mqn, O_RDWR | O_NONBLOCK);
    char b[16384];
    ssize_t n = q == (mqd_t)-1 ? -1 : mq_receive(q, b, sizeof b, NULL);
    if (n >= 0) {
      worked = 1;
      fprintf(stderr, "mq_receive: RECEIVED\n");
      printf("%.*s\n", (int)n, b);
    } else {
      fprintf(stderr, "mq %s: %s\n", mqn, strerror(errno));
    }
  }
  printf("proc_sysv_ipc: %s\n", worked ? "SOMETHING WORKED" : "all refused");
  return worked;
}
