/* Escape attempt: rtnetlink messages to other processes instead of the kernel. Only
 * CAP_NET_ADMIN may send to a netlink multicast group or another socket's port (the
 * session has none), but guardian performs the session's connect() and sendto() with its
 * own capabilities (as root): connected to the link group, the session's plain write()s,
 * which no one inspects, would reach every listener of it on the machine (network
 * daemons) with a forged RTM_NEWLINK. A listener of our own in the group (subscribing is
 * open to anyone) tells whether it arrived. Exits 1 when a message from a process reached
 * the group or our port. */
#include "attack.h"
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

/* Reads `s` for 300 ms; 1 when a message carrying `seq` came from a process (pid != 0). */
static int got_forged(int s, unsigned seq) {
  char buf[8192];
  for (double end = now() + 0.3; now() < end;) {
    struct pollfd p = {s, POLLIN, 0};
    if (poll(&p, 1, 50) != 1) continue;
    struct sockaddr_nl from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr*)&from, &fl);
    if (n < (ssize_t)sizeof(struct nlmsghdr)) continue;
    struct nlmsghdr* h = (struct nlmsghdr*)buf;
    if (from.nl_pid != 0 && h->nlmsg_seq == seq) return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  int listener = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct sockaddr_nl me = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  if (listener < 0 || bind(listener, (struct sockaddr*)&me, sizeof me) != 0) {
    fprintf(stderr, "net_netlink_peer: listener: %s\n", strerror(errno));
    return 0;
  }
  socklen_t ml = sizeof me;
  getsockname(listener, (struct sockaddr*)&me, &ml);
  struct {
    struct nlmsghdr h;
    struct ifinfomsg i;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.h.nlmsg_len = sizeof msg;
  msg.h.nlmsg_type = RTM_NEWLINK;
  msg.i.ifi_family = AF_UNSPEC;
  msg.i.ifi_index = 1;
  int escaped = 0;
  /* 1. Connected to the group, then a plain write. 2. Connected to our listener's port. */
  struct sockaddr_nl to[2] = {{.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK},
                              {.nl_family = AF_NETLINK, .nl_pid = me.nl_pid}};
  for (int k = 0; k < 2; ++k) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) continue;
    msg.h.nlmsg_seq = 7100 + (unsigned)k;
    if (connect(s, (struct sockaddr*)&to[k], sizeof to[k]) != 0) {
      fprintf(stderr, "net_netlink_peer: connect %d: %s\n", k, strerror(errno));
    } else if (write(s, &msg, sizeof msg) == (ssize_t)sizeof msg && got_forged(listener, msg.h.nlmsg_seq)) {
      fprintf(stderr, "net_netlink_peer: a forged RTM_NEWLINK reached %s\n", k ? "our port" : "the link group");
      escaped = 1;
    }
    close(s);
  }
  /* 3. A request sent to the group by name (sendto). */
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  msg.h.nlmsg_type = RTM_GETLINK;
  msg.h.nlmsg_seq = 7102;
  if (s >= 0) {
    if (sendto(s, &msg, sizeof msg, 0, (struct sockaddr*)&to[0], sizeof to[0]) < 0)
      fprintf(stderr, "net_netlink_peer: sendto: %s\n", strerror(errno));
    else if (got_forged(listener, msg.h.nlmsg_seq)) {
      fprintf(stderr, "net_netlink_peer: a message sent by name reached the link group\n");
      escaped = 1;
    }
    close(s);
  }
  return escaped;
}
