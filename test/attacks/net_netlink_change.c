/* Escape attempt (root): change the machine's network configuration through the
 * NETLINK_ROUTE socket a session keeps for getaddrinfo and `ip addr`: add the addresses
 * 127.77.0.1 (by sendto) and 127.77.0.2 (by write(2), which no supervisor sees) to the
 * loopback interface, as `ip addr add` does. The runner compares the loopback's addresses
 * before and after (and removes these two on exit). Exit 1 when the kernel accepted one. */
#include "attack.h"
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

struct req {
  struct nlmsghdr nh;
  struct ifaddrmsg ifa;
  char attrs[64];
};

static int add_attr(struct req* r, unsigned short type, const void* data, int len) {
  struct rtattr* a = (struct rtattr*)((char*)r + NLMSG_ALIGN(r->nh.nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, (size_t)len);
  r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
  return 0;
}

/* Sends RTM_NEWADDR for addr on lo; returns the kernel's answer (0 = added) or -errno. */
static int add_address(int s, const char* addr, int by_write) {
  struct req r;
  memset(&r, 0, sizeof r);
  r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  r.nh.nlmsg_type = RTM_NEWADDR;
  r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  r.nh.nlmsg_seq = 1;
  r.ifa.ifa_family = AF_INET;
  r.ifa.ifa_prefixlen = 32;
  r.ifa.ifa_scope = RT_SCOPE_HOST;
  r.ifa.ifa_index = if_nametoindex("lo");
  struct in_addr in;
  inet_pton(AF_INET, addr, &in);
  add_attr(&r, IFA_LOCAL, &in, 4);
  add_attr(&r, IFA_ADDRESS, &in, 4);
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  ssize_t n = by_write ? write(s, &r, r.nh.nlmsg_len)
                       : sendto(s, &r, r.nh.nlmsg_len, 0, (struct sockaddr*)&k, sizeof k);
  if (n < 0) return -errno;
  char buf[4096];
  n = recv(s, buf, sizeof buf, 0);
  if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr))) return -EIO;
  struct nlmsghdr* h = (struct nlmsghdr*)buf;
  if (h->nlmsg_type != NLMSG_ERROR) return -EIO;
  return ((struct nlmsgerr*)NLMSG_DATA(h))->error;
}

int main(int argc, char** argv) {
  fixture(argc, argv);
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) { printf("netlink socket: %s\n", strerror(errno)); return 0; }
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  if (connect(s, (struct sockaddr*)&k, sizeof k) != 0) printf("connect to the kernel: %s\n", strerror(errno));
  int a = add_address(s, "127.77.0.1", 0);
  printf("RTM_NEWADDR 127.77.0.1 by sendto: %s\n", a == 0 ? "ADDED" : strerror(-a));
  int b = add_address(s, "127.77.0.2", 1);
  printf("RTM_NEWADDR 127.77.0.2 by write: %s\n", b == 0 ? "ADDED" : strerror(-b));
  fflush(stdout);
  return a == 0 || b == 0;
}
