/* Escape attempt: sends and connects that look undecidable at the check, changed before the
 * kernel reads them again. For ~1 s each, a thread: (1) fills in msg_name (the forbidden
 * UDP port) of a sendmsg that had none; (2) puts a UDP socket on the descriptor of a TCP
 * one that sendto() names the forbidden port on (a stream socket ignores the name); (3)
 * turns an AF_UNSPEC connect (a disconnect) into an AF_INET one to the forbidden port,
 * then sends. The runner's forbidden UDP listener must get nothing. Env: ATTACK_UDP. */
#include "attack.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define BARRIER() __asm__ volatile("" ::: "memory")
static struct sockaddr_in bad, fam;
static struct msghdr mh;
static struct iovec iov = {.iov_base = "leak", .iov_len = 4};
static volatile int stop;
static int udp, tcp;
enum { kTarget = 200 };

static void* flip_name(void* a) {
  (void)a;
  while (!stop) {
    mh.msg_name = NULL;
    mh.msg_namelen = 0;
    BARRIER();
    mh.msg_name = &bad;
    mh.msg_namelen = sizeof bad;
    BARRIER();
  }
  return NULL;
}
static void* flip_fd(void* a) {
  (void)a;
  while (!stop) {
    dup2(udp, kTarget);
    dup2(tcp, kTarget);
  }
  return NULL;
}
static void* flip_family(void* a) {
  (void)a;
  while (!stop) {
    fam.sin_family = AF_UNSPEC;
    BARRIER();
    fam.sin_family = AF_INET;
    BARRIER();
  }
  return NULL;
}

static long race(const char* how, void* (*flipper)(void*), int kind) {
  stop = 0;
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long tries = 0, sent = 0;
  for (double end = now() + 1; now() < end; ++tries) {
    if (kind == 0 && sendmsg(udp, &mh, 0) == 4) ++sent;
    if (kind == 1 && sendto(kTarget, "leak", 4, MSG_NOSIGNAL, (struct sockaddr*)&bad, sizeof bad) == 4) ++sent;
    if (kind == 2) {
      int s = socket(AF_INET, SOCK_DGRAM, 0);
      if (connect(s, (struct sockaddr*)&fam, sizeof fam) == 0 && send(s, "leak", 4, 0) == 4) ++sent;
      close(s);
    }
  }
  stop = 1;
  pthread_join(th, NULL);
  fprintf(stderr, "%s: %ld tries, %ld sent\n", how, tries, sent);
  return sent;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  int port = atoi(env_or("ATTACK_UDP", "0"));
  bad.sin_family = AF_INET;
  bad.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, "127.0.0.1", &bad.sin_addr);
  fam = bad;
  udp = socket(AF_INET, SOCK_DGRAM, 0);
  tcp = socket(AF_INET, SOCK_STREAM, 0);
  dup2(tcp, kTarget);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  long sent = race("sendmsg, msg_name filled in", flip_name, 0);
  sent += race("sendto on a TCP descriptor swapped for UDP", flip_fd, 1);
  sent += race("connect AF_UNSPEC turned AF_INET", flip_family, 2);
  printf("net_unnamed_race: %s\n", sent ? "SOMETHING WORKED" : "all refused");
  return sent ? 1 : 0;
}
