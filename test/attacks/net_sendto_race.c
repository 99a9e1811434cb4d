/* Escape attempt: a thread flips the destination sockaddr of sendto() between an allowed
 * UDP port and a forbidden one for ~2 s. The runner's forbidden listener must get nothing.
 * Env: ATTACK_UDP (forbidden), ATTACK_OK_UDP (allowed). */
#include "attack.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

static struct sockaddr_in dst;
static unsigned short okp, badp;
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    *(volatile unsigned short*)&dst.sin_port = htons(badp);
    *(volatile unsigned short*)&dst.sin_port = htons(okp);
  }
  return NULL;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  badp = (unsigned short)atoi(env_or("ATTACK_UDP", "0"));
  okp = (unsigned short)atoi(env_or("ATTACK_OK_UDP", "0"));
  dst.sin_family = AF_INET;
  dst.sin_port = htons(okp);
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long sent = 0;
  for (double end = now() + 2; now() < end;)
    if (sendto(u, "race", 4, 0, (struct sockaddr*)&dst, sizeof dst) == 4) ++sent;
  stop = 1;
  pthread_join(th, NULL);
  fprintf(stderr, "net_sendto_race: %ld sent\n", sent);
  return 0;
}
