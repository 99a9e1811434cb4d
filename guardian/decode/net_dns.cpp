// The decoders' side of the DNS gate (dns/gate.cpp): host names for connect decisions, the
// bookkeeping of redirected sockets, and recvfrom() on them, emulated so that an answer
// relayed by the gate seems to come from the resolver the tracee asked (glibc, musl and
// c-ares drop UDP answers from any other address).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "decode/impl.hpp"
#include "dns/gate.hpp"
#include "emulate/emulate.hpp"

namespace guardian::decode {

using policy::NetAddr;
using policy::Verdict;

bool Handler::Impl::judge_net(Ctx& c, policy::Request& req, Response& out) {
  if (!opts.gate || req.addr.kind != NetAddr::Kind::ip) return judge(c, req, {}, out);
  // Only names guardian saw answered to this session for this address (or /etc/hosts):
  // what the tracee claims never names an address.
  std::vector<std::string> names = opts.gate->names_for(req.addr);
  if (names.empty()) return judge(c, req, {}, out);
  policy::Decision first;
  std::size_t first_i = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    req.host = names[i];
    policy::Decision dec = d->decide(req);
    if (dec.verdict == Verdict::allow) return apply(c, req, dec, {}, true, out);
    if (i == 0) first = dec, first_i = i;
  }
  req.host = names[first_i];
  return apply(c, req, first, {}, true, out);
}

void Handler::Impl::note_gate_socket(Ctx& c, int sock, const NetAddr& resolver) {
  struct stat st {};
  if (::fstat(sock, &st) == 0) {
    if (gate_socks.size() > 4096) gate_socks.clear();  // closed sockets' inodes
    gate_socks[static_cast<std::uint64_t>(st.st_ino)] = resolver;
  }
  sockaddr_storage ss{};
  socklen_t l = sizeof ss;
  if (::getsockname(sock, reinterpret_cast<sockaddr*>(&ss), &l) != 0) return;
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  else if (ss.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  dns::Client cl;
  cl.pid = c.tgid;
  cl.tid = c.n.tid;
  cl.ppid = session.ppid_of(c.tgid);
  cl.exe = session.exe_of(c.tgid);
  cl.resolver = resolver;
  opts.gate->register_client(port, std::move(cl));
}

// recvfrom(fd, buf, len, flags, src_addr, addrlen): the filter notifies it only with a
// src_addr and only when the gate runs. Sockets never redirected are left to the kernel.
Response Handler::Impl::recvfrom_gate(Ctx& c) {
  if (!opts.gate) return cont();
  auto sock = c.t.take_fd(c.iarg(0));
  if (!sock) return cont();  // the kernel answers EBADF itself
  struct stat st {};
  if (::fstat(sock.value().get(), &st) != 0) return cont();
  auto it = gate_socks.find(static_cast<std::uint64_t>(st.st_ino));
  if (it == gate_socks.end()) return cont();
  const NetAddr resolver = it->second;
  socklen_t alen = 0;
  if (c.arg(5) == 0 || !c.t.read(c.arg(5), &alen, sizeof alen)) return error(EFAULT);
  if (static_cast<int>(alen) < 0) return error(EINVAL);
  Response out;
  if (!valid(c, out)) return out;
  const int flags = c.iarg(3);
  std::vector<char> buf(std::min<std::size_t>(c.arg(2), 65536));
  sockaddr_storage from{};
  socklen_t fl = sizeof from;
  // Our own receive, never blocking the loop: the tracee's sockets of resolvers are
  // non-blocking in every resolver we know (they poll); a blocking one waits off the
  // loop when a Blocker is available.
  ssize_t n = ::recvfrom(sock.value().get(), buf.data(), buf.size(), flags | MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &fl);
  int e = errno;
  if (n < 0 && e == EAGAIN && opts.blocker && !(flags & MSG_DONTWAIT)) {
    int fl_sock = ::fcntl(sock.value().get(), F_GETFL);
    if (fl_sock >= 0 && !(fl_sock & O_NONBLOCK)) {
      // A blocking socket: wait off the loop for the gate's answer (session/waiter.hpp).
      struct Wait {
        UniqueFd sock;
        std::vector<char> buf;
        sockaddr_storage from{};
        socklen_t fl = sizeof(sockaddr_storage);
      };
      auto w = std::make_shared<Wait>();
      w->sock = std::move(sock.value());
      w->buf = std::move(buf);
      bool started = opts.blocker->start(
          c.n,
          honour_timeout(w->sock.get(), SO_RCVTIMEO,
                         [w, flags] {
                           w->fl = sizeof w->from;
                           return emulate::recvfrom_wait(
                               w->sock.get(), w->buf.data(), w->buf.size(), flags,
                               reinterpret_cast<sockaddr*>(&w->from), &w->fl);
                         }),
          [this, w, resolver, args = c.n.args](long r, Tracee& t) {
            if (r < 0) return error(static_cast<int>(-r));
            return write_recvfrom(t, args, r, w->buf, w->from, w->fl, resolver);
          });
      if (started) {
        out = Response();
        out.kind = Response::Kind::defer;
        return out;
      }
    }
  }
  if (n < 0) return error(e);
  return write_recvfrom(c.t, c.n.args, n, buf, from, fl, resolver);
}

Response Handler::Impl::write_recvfrom(Tracee& t, const std::array<std::uint64_t, 6>& args,
                                       long n, const std::vector<char>& buf,
                                       sockaddr_storage from, socklen_t fl,
                                       const NetAddr& resolver) {
  if (opts.gate->is_gate_udp(reinterpret_cast<sockaddr*>(&from), fl)) {
    // The gate relayed it: report the resolver the tracee asked, in the socket's family.
    bool v6 = from.ss_family == AF_INET6;
    std::memset(&from, 0, sizeof from);
    if (!v6 && resolver.v4) {
      auto* in = reinterpret_cast<sockaddr_in*>(&from);
      in->sin_family = AF_INET;
      in->sin_port = htons(resolver.port);
      std::memcpy(&in->sin_addr, &resolver.ip[12], 4);
      fl = sizeof *in;
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&from);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(resolver.port);
      std::memcpy(&in6->sin6_addr, resolver.ip.data(), 16);
      if (resolver.v4) {
        std::memset(&in6->sin6_addr, 0, 10);
        in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
      }
      fl = sizeof *in6;
    }
  }
  socklen_t alen = 0;
  std::size_t copy = std::min<std::size_t>(static_cast<std::size_t>(n), buf.size());
  if (!t.read(args[5], &alen, sizeof alen) || (copy && !t.write(args[1], buf.data(), copy)) ||
      !t.write(args[4], &from, std::min<socklen_t>(alen, fl)) ||
      !t.write(args[5], &fl, sizeof fl))
    return error(EFAULT);  // the datagram is lost, as with a bad buffer natively
  return value(n);
}

}  // namespace guardian::decode
