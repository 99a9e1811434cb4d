/* Escape attempt: sending SCM_CREDENTIALS that name a process outside the session (the
 * victim), so that a receiver (journald, a service's notify socket, any SO_PASSCRED peer)
 * takes the message for that process's. Natively only CAP_SYS_ADMIN may name another
 * process, and guardian drops it; but guardian performs the session's sendmsg itself,
 * with its own capabilities. Exits 1 when the receiver saw the victim's pid. */
#include "attack.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char** argv) {
  fixture(argc, argv);
  pid_t victim = (pid_t)atoi(env_or("ATTACK_VICTIM", "1"));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) { perror("socketpair"); return 0; }
  int on = 1;
  setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  struct ucred cr = {victim, getuid(), getgid()};
  union { char buf[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  char data[] = "hello";
  struct iovec iov = {data, sizeof data};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof u.buf;
  struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_CREDENTIALS;
  cm->cmsg_len = CMSG_LEN(sizeof cr);
  memcpy(CMSG_DATA(cm), &cr, sizeof cr);
  if (sendmsg(sv[0], &m, 0) < 0) {
    fprintf(stderr, "proc_forged_creds: sendmsg: %s\n", strerror(errno));
    return 0;
  }
  char rbuf[64];
  union { char buf[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } r;
  struct iovec riov = {rbuf, sizeof rbuf};
  struct msghdr rm = {0};
  rm.msg_iov = &riov;
  rm.msg_iovlen = 1;
  rm.msg_control = r.buf;
  rm.msg_controllen = sizeof r.buf;
  if (recvmsg(sv[1], &rm, 0) < 0) { perror("recvmsg"); return 0; }
  for (cm = CMSG_FIRSTHDR(&rm); cm; cm = CMSG_NXTHDR(&rm, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
      memcpy(&cr, CMSG_DATA(cm), sizeof cr);
      fprintf(stderr, "proc_forged_creds: the receiver saw pid %d (victim %d)\n", cr.pid, victim);
      if (cr.pid == victim) return 1;
    }
  return 0;
}
