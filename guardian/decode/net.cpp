// Network decoder: socket() families, and connect/bind/sendto/sendmsg/sendmmsg decided
// on the destination. The supervisor takes the socket (pidfd_getfd) and performs the call
// itself with its own copy of the address, so rewriting the sockaddr after the check loses.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "decode/impl.hpp"
#include "dns/gate.hpp"
#include "emulate/emulate.hpp"

namespace guardian::decode {

using policy::Category;
using policy::NetAddr;
using policy::Op;

namespace {


const char* family_name(int f) {
  switch (f) {
    case AF_UNIX: return "unix";
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_NETLINK: return "netlink";
    case AF_PACKET: return "packet";
    default: return nullptr;
  }
}

}  // namespace

bool decode_sockaddr(const void* sa, std::size_t len, NetAddr& a, std::string& text,
                     std::string& unix_name) {
  a = NetAddr{};
  text.clear();
  unix_name.clear();
  if (len < sizeof(sa_family_t)) return false;
  sa_family_t fam;
  std::memcpy(&fam, sa, sizeof fam);
  char buf[INET6_ADDRSTRLEN];
  if (fam == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    a.kind = NetAddr::Kind::ip;
    a.v4 = true;
    std::memcpy(&a.ip[12], &in.sin_addr, 4);
    a.port = ntohs(in.sin_port);
    inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
    text = std::string(buf) + ":" + std::to_string(a.port);
    return true;
  }
  if (fam == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    a.kind = NetAddr::Kind::ip;
    std::memcpy(a.ip.data(), &in6.sin6_addr, 16);
    a.port = ntohs(in6.sin6_port);
    // IPv4-mapped (::ffff:a.b.c.d) is matched as IPv4.
    a.v4 = IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr);
    if (a.v4) {
      inet_ntop(AF_INET, &a.ip[12], buf, sizeof buf);
      text = std::string(buf) + ":" + std::to_string(a.port);
    } else {
      inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
      text = "[" + std::string(buf) + "]:" + std::to_string(a.port);
    }
    return true;
  }
  if (fam == AF_UNIX) {
    const char* p = static_cast<const char*>(sa) + sizeof(sa_family_t);
    std::size_t n = len - sizeof(sa_family_t);
    if (n == 0) {
      a.kind = NetAddr::Kind::unix_unnamed;
      text = "unix:";
      return true;
    }
    if (p[0] == 0) {
      a.kind = NetAddr::Kind::unix_abstract;
      unix_name.assign(p + 1, n - 1);
      text = "unix:@" + unix_name;
      return true;
    }
    a.kind = NetAddr::Kind::unix_path;
    unix_name.assign(p, strnlen(p, n));
    text = "unix:" + unix_name;
    return true;
  }
  return false;
}

using Dest = NetDest;

namespace {
// 127.0.0.0/8, ::1, or the any address (which a connect takes as this host).
bool loopback_or_any(const NetAddr& a) {
  if (a.v4) return a.ip[12] == 127 || (a.ip[12] == 0 && a.ip[13] == 0 && a.ip[14] == 0 && a.ip[15] == 0);
  for (std::size_t i = 0; i < 15; ++i)
    if (a.ip[i] != 0) return false;
  return a.ip[15] <= 1;
}
}  // namespace

namespace {

int sock_domain(int sock) {
  int dom = -1;
  socklen_t l = sizeof dom;
  return sock >= 0 && ::getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &dom, &l) == 0 ? dom : -1;
}

}  // namespace

// Turns `dest` into the address the kernel will use on the socket `sock`, as its inet and
// inet6 code reads names more loosely than a whole sockaddr: an AF_INET6 name of 24 bytes
// (RFC 2133, without the scope id) is accepted, and on an AF_INET socket an AF_UNSPEC name
// is taken as AF_INET by sendto/sendmsg and by bind (INADDR_ANY). Left undecoded, either
// went through undecided. A name on an inet socket that is still not an address we decide
// is refused: false with `out` set (fail closed). True when `dest` is ready to decode.
bool Handler::Impl::kernel_view(Ctx& c, NetDest& dest, int sock, Response& out) {
  if (dest.len < sizeof(sa_family_t)) return true;
  const sa_family_t fam = dest.ss.ss_family;
  const int dom = sock_domain(sock);
  if (fam == AF_INET6 && dest.len >= 24 && dest.len < sizeof(sockaddr_in6)) {
    // The bytes past what the tracee gave are zero (dest.ss was): scope id 0, as the kernel.
    dest.len = sizeof(sockaddr_in6);
    return true;
  }
  if (dom != AF_INET && dom != AF_INET6) return true;  // unix (decoded), netlink: as before
  if (fam == AF_INET || fam == AF_INET6) {
    // Shorter than the kernel accepts: it would answer EINVAL; answer it without a pass.
    if (dest.len < (fam == AF_INET ? sizeof(sockaddr_in) : std::size_t{24})) {
      out = error(EINVAL);
      return false;
    }
    return true;
  }
  if (fam == AF_UNSPEC) {
    // connect(AF_UNSPEC) disconnects; on an inet6 socket a send drops the name (the
    // connected peer, decided at connect, gets it) and bind fails: nothing to decide.
    if (c.n.nr == SYS_connect || dom == AF_INET6) return true;
    if (dest.len < sizeof(sockaddr_in)) {
      out = error(EINVAL);
      return false;
    }
    dest.ss.ss_family = AF_INET;  // what udp_sendmsg and inet_bind take it for
    return true;
  }
  out = error(EAFNOSUPPORT);
  return false;
}

// Decides one destination read from tracee memory at `addr`; fills `dest` for emulation.
bool Handler::Impl::decide_dest(Ctx& c, std::uint64_t addr, std::size_t len, Op op, Dest& dest,
                                Response& out, int sock) {
  auto& h = *this;
  if (len > sizeof(sockaddr_storage)) {
    out = error(EINVAL);
    return false;
  }
  if (!c.t.read(addr, &dest.ss, len)) {
    out = error(EFAULT);
    return false;
  }
  dest.len = static_cast<socklen_t>(len);
  policy::Request req;
  req.category = Category::network;
  req.op = op;
  std::string uname;
  if (!kernel_view(c, dest, sock, out)) return false;
  // Netlink to another socket than the kernel's (a process's port, or a multicast group):
  // the kernel lets only CAP_NET_ADMIN send there, which the session does not have, but
  // guardian performs the connect or the send with its own (as root). Connected so, the
  // session's own write()s, which nothing inspects, would reach every listener of the
  // group on the machine (network daemons: a forged RTM_NEWLINK). Subscribing (bind)
  // stays open, and so does the kernel (port 0, no group).
  if (dest.ss.ss_family == AF_NETLINK && op != Op::bind && len >= sizeof(sockaddr_nl)) {
    sockaddr_nl nl{};
    std::memcpy(&nl, &dest.ss, sizeof nl);
    if (nl.nl_pid != 0 || nl.nl_groups != 0) {
      h.addr_text = "netlink:" + std::to_string(nl.nl_pid) + "/" + std::to_string(nl.nl_groups);
      h.local(c, req, false, EPERM, h.addr_text, out);
      return false;
    }
  }
  if (!decode_sockaddr(&dest.ss, dest.len, req.addr, h.addr_text, uname)) return true;
  dest.decided = true;
  if (!h.valid(c, out)) return false;
  // An abstract name is matched as given (no resolution); `uname` outlives the decision.
  if (req.addr.kind == NetAddr::Kind::unix_abstract) req.addr.unix_name = uname;
  if (req.addr.kind == NetAddr::Kind::unix_path) {
    // Resolved like a file path, relative to the tracee's cwd; connect follows symlinks,
    // bind creates the name.
    ResolveOpts o;
    o.follow = op != Op::bind;
    o.need_parent = op == Op::bind;
    Resolved& r = h.r2;
    if (!h.resolver.resolve(c.n.tid, c.tgid, AT_FDCWD, uname, o, r)) {
      out = error(r.err ? r.err : EACCES);
      return false;
    }
    req.addr.unix_name = r.path;
    req.path = r.path;
    req.lexical_path = r.lexical;
    req.lexical_trusted = r.trusted && !r.magic;
    h.addr_text = "unix:" + r.path;
    if (op == Op::connect && h.missing_but_visible(c, r)) {
      // Nothing listens at a name that does not exist: the kernel answers ENOENT and no
      // connection can be made. glibc probes nscd's socket at every user, group and host
      // lookup (ls -l, tar, id, bash): a denial turned each probe into EACCES and a line of
      // the stderr summary.
      out = error(ENOENT);
      return false;
    }
    // A socket file the session's own bind made (guardian:own-listener), unless a rule
    // denies it by name.
    bool own = false;
    if (op == Op::connect && r.exists && S_ISSOCK(r.st.st_mode) && !h.own_sockets.empty()) {
      policy::Decision du = d->decide(req);
      own = du.verdict != policy::Verdict::allow && !du.rule && h.own_socket_file(r.target.get(), "");
    }
    if (own) h.local(c, req, true, 0, uname, out, "guardian:own-listener");
    else if (!h.judge(c, req, uname, out)) return false;
    if (r.err) {
      out = error(r.err);
      return false;
    }
    std::string p;
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (op == Op::bind) {
      if (r.exists) {
        out = error(EADDRINUSE);
        return false;
      }
      p = emulate::self_fd(r.parent.get()) + "/" + r.name;
      dest.leaf = r.name;
      dest.hold = std::move(r.parent);
      dest.named = dest.ss;
      dest.named_len = dest.len;
      if (!uname.empty() && uname[0] != '/') {
        std::string cwd = "/proc/" + std::to_string(c.n.tid) + "/cwd";
        dest.cwd = UniqueFd(::open(cwd.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dest.cwd) dest.named_len = 0;  // bound through the parent instead
      }
    } else {
      if (!r.exists) {
        out = error(ENOENT);
        return false;
      }
      p = emulate::self_fd(r.target.get());
      dest.hold = std::move(r.target);
    }
    if (p.size() >= sizeof un.sun_path) {
      out = error(ENAMETOOLONG);
      return false;
    }
    std::memcpy(un.sun_path, p.data(), p.size());
    std::memcpy(&dest.ss, &un, sizeof un);
    dest.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + p.size() + 1);
    return true;
  }
  if (req.addr.kind == NetAddr::Kind::ip && op == Op::connect) {
    if (h.opts.gate && h.opts.gate->is_resolver(req.addr)) {
      // DNS goes through the gate (dns/gate.cpp): our copy of the address becomes the
      // gate's; what cannot be redirected (an unknown socket kind) is refused.
      int fam = -1, type = -1;
      socklen_t l = sizeof fam, l2 = sizeof type;
      if (sock < 0 || ::getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &fam, &l) != 0 ||
          ::getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &l2) != 0 ||
          !h.opts.gate->gate_address(fam, type, dest.ss, dest.len))
        return h.local(c, req, false, d->deny_errno(), {}, out);
      dest.to_gate = true;
      dest.resolver = req.addr;
      return true;
    }
    if (dns::is_resolver(req.addr, h.opts.dns_direct)) return h.local(c, req, true, 0, {}, out);
    // 0.0.0.0 and [::] as a destination are this host: the kernel connects to the loopback
    // (or to the socket's own address). Decided as the loopback too, so that a rule that
    // denies 127.0.0.1 or [::1] holds for them.
    bool any = true;
    for (std::size_t i = req.addr.v4 ? 12 : 0; i < 16; ++i) any = any && req.addr.ip[i] == 0;
    policy::Request lo = req;
    if (any) {
      lo.addr.ip[15] = 1;
      if (lo.addr.v4) lo.addr.ip[12] = 127;
    }
    // A loopback port only the session's own sockets listen on (guardian:own-listener),
    // unless a rule denies it by name.
    if (loopback_or_any(req.addr)) {
      policy::Decision dl = d->decide(lo);
      using L = Handler::Impl::TcpListeners;
      const L who = dl.verdict != policy::Verdict::allow && !dl.rule ? h.tcp_listeners(req.addr.port)
                                                                    : L::unknown;
      if (who == L::own) return h.local(c, req, true, 0, {}, out, "guardian:own-listener");
      // Nobody listens on that loopback port (a test suite polling for the server it is
      // starting): ECONNREFUSED, undecided, as the kernel would answer, where a bind of the
      // port is allowed and would tell as much. EACCES ended the clients' retry loops that
      // wait for ECONNREFUSED alone (node's, Python's ConnectionRefusedError), and each
      // attempt was a summary line. A stream connect() only: a datagram has no listener.
      if (who == L::none && c.n.nr == SYS_connect && sock >= 0) {
        int type = 0;
        socklen_t tl = sizeof type;
        policy::Request b = lo;
        b.op = Op::bind;
        if (::getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM &&
            d->decide(b).verdict == policy::Verdict::allow) {
          out = error(ECONNREFUSED);
          return false;
        }
      }
    }
    if (any) {
      policy::Decision dl = d->decide(lo);
      if (dl.verdict != policy::Verdict::allow) return h.apply(c, lo, dl, {}, true, out);
    }
    return h.judge_net(c, req, out);
  }
  if (req.addr.kind == NetAddr::Kind::unix_abstract && op == Op::connect) {
    policy::Decision da = d->decide(req);
    if (da.verdict != policy::Verdict::allow && !da.rule && h.own_abstract(uname))
      return h.local(c, req, true, 0, {}, out, "guardian:own-listener");
  }
  return h.judge(c, req, {}, out);
}

// listen(): the kernel binds a socket that has no port yet to one of its own choosing, on
// the address it has (the any address when it was never bound): decided as a bind to what
// getsockname() shows, so that a listener exists only where `bind` rules allow one. A
// socket bound through a decided bind is decided again, the same way.
Response Handler::Impl::listen(Ctx& c) {
  Response out;
  auto sock = c.t.take_fd(c.iarg(0));
  if (!sock) return error(EBADF);
  const int dom = sock_domain(sock.value().get());
  if (dom != AF_INET && dom != AF_INET6) return cont();  // unix: autobind is abstract, unreachable by name
  sockaddr_storage ss{};
  socklen_t l = sizeof ss;
  if (::getsockname(sock.value().get(), reinterpret_cast<sockaddr*>(&ss), &l) != 0) return error(EBADF);
  policy::Request req;
  req.category = Category::network;
  req.op = Op::bind;
  std::string uname;
  if (!decode_sockaddr(&ss, l, req.addr, addr_text, uname)) return error(EINVAL);
  if (!valid(c, out)) return out;
  if (!judge(c, req, {}, out)) return out;
  note_bound(sock.value().get());  // guardian:own-listener
  return cont();
}

// SO_REUSEPORT on an IPv4 or IPv6 socket (the filter notifies only setsockopt at
// SOL_SOCKET of that option): the kernel lets every later socket of the same user join the
// port, and deals it a share of the connections and datagrams (or, with a reuseport BPF
// program of the session's, all of them). A session that binds a port first with it would
// take part of the traffic of the program the port belongs to when that program starts
// (a database, the user's dev server), silently: without the option that program fails to
// start, which the user sees. Refused (EPERM, with a decision record); turning it off, and
// any other socket's, is performed on our copy of the value, so a thread changing it after
// the look changes nothing.
Response Handler::Impl::reuse_port(Ctx& c) {
  Response out;
  if (static_cast<int>(c.arg(4)) < static_cast<int>(sizeof(int))) return cont();  // kernel: EINVAL
  int v = 0;
  if (!c.t.read(c.arg(3), &v, sizeof v)) return error(EFAULT);
  auto sock = c.t.take_fd(c.iarg(0));
  if (!sock) return error(EBADF);
  if (!valid(c, out)) return out;
  int dom = 0;
  socklen_t dl = sizeof dom;
  if (v != 0 && ::getsockopt(sock.value().get(), SOL_SOCKET, SO_DOMAIN, &dom, &dl) == 0 &&
      (dom == AF_INET || dom == AF_INET6)) {
    policy::Request req;
    req.category = Category::network;
    req.op = Op::other;
    addr_text = "SO_REUSEPORT";
    if (!local(c, req, false, EPERM, addr_text, out)) return out;  // complain mode goes on
  }
  return value(::setsockopt(sock.value().get(), SOL_SOCKET, SO_REUSEPORT, &v, sizeof v) == 0 ? 0 : -errno);
}

Response Handler::Impl::net(Ctx& c) {
  Response out;
  const int nr = c.n.nr;
  if (nr == SYS_socket) {
    int fam = c.iarg(0), type = c.iarg(1) & 0xf, proto = c.iarg(2);
    bool ok = false;
    if (fam == AF_UNIX) ok = true;
    // Stream and datagram sockets only, and not SCTP: it connects and sends to addresses
    // given in setsockopt (SCTP_SOCKOPT_CONNECTX) and in control messages, which the
    // network rules would never see. Raw, packet, SCTP's seqpacket: refused.
    else if (fam == AF_INET || fam == AF_INET6)
      ok = (type == SOCK_STREAM || type == SOCK_DGRAM) && proto != IPPROTO_SCTP;
    else if (fam == AF_NETLINK) ok = proto == NETLINK_ROUTE;  // getaddrinfo, `ip addr`
    const char* fn = family_name(fam);
    addr_text = std::string("socket:") + (fn ? fn : std::to_string(fam)) + "/" +
                std::to_string(type) + (fam == AF_NETLINK ? "/" + std::to_string(proto) : "");
    policy::Request req;
    req.category = Category::network;
    req.op = Op::socket;
    return local(c, req, ok, d->deny_errno(), {}, out) ? cont() : std::move(out);
  }
  if (nr == SYS_listen) return listen(c);
  if (nr == SYS_setsockopt) return reuse_port(c);
  if (nr == SYS_connect || nr == SYS_bind) {
    std::size_t len = c.arg(2);
    if (c.arg(1) == 0 || len < sizeof(sa_family_t)) return cont();  // kernel: EINVAL/EFAULT
    Op op = nr == SYS_connect ? Op::connect : Op::bind;
    Dest dest;
    auto sock = c.t.take_fd(c.iarg(0));
    if (!sock) return error(EBADF);
    if (!decide_dest(c, c.arg(1), len, op, dest, out, sock.value().get())) return out;
    // A unix autobind: the kernel reads two bytes, which cannot name anything else.
    if (dest.decided && dest.ss.ss_family == AF_UNIX && len == sizeof(sa_family_t)) return cont();
    // AF_UNSPEC (a disconnect), netlink: no rule covers them, yet they are performed on our
    // copy too: let through, the kernel would read the address again, which another thread
    // may have turned into an AF_INET one meanwhile.
    if (!dest.decided) {
      bool ignored = false;
      return value(op == Op::bind ? emulate::bind_sock(sock.value().get(), reinterpret_cast<sockaddr*>(&dest.ss), dest.len, 0)
                                  : emulate::connect_sock(sock.value().get(), reinterpret_cast<sockaddr*>(&dest.ss), dest.len, ignored));
    }
    if (op == Op::bind && (dest.ss.ss_family == AF_INET || dest.ss.ss_family == AF_INET6)) {
      // A port another program's socket holds: natively the kernel lets a bind join it when
      // both sockets set SO_REUSEPORT (same user) or, for UDP, SO_REUSEADDR, and then hands
      // the session a share of that program's connections, or its datagrams. Refused as the
      // kernel refuses a port in use, whatever the options (another thread may set them
      // after a look at them here).
      policy::Request req;
      req.category = Category::network;
      req.op = Op::bind;
      std::string uname;
      int type = 0, v6only = 0;
      socklen_t tl = sizeof type, vl = sizeof v6only;
      ::getsockopt(sock.value().get(), SOL_SOCKET, SO_TYPE, &type, &tl);
      if (dest.ss.ss_family == AF_INET6)
        ::getsockopt(sock.value().get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &vl);
      if (decode_sockaddr(&dest.ss, dest.len, req.addr, addr_text, uname) &&
          foreign_port_holder(req.addr, type == SOCK_STREAM, v6only != 0) &&
          !local(c, req, false, EADDRINUSE, addr_text, out))
        return out;
    }
    if (op == Op::bind) {
      mode_t um = dest.ss.ss_family == AF_UNIX ? umask_of(c) : 0;
      long rc = -ENOSYS;
      if (dest.named_len) {
        // Named as the program asked (getsockname shows it); through the parent otherwise.
        rc = emulate::bind_unix_named(sock.value().get(), reinterpret_cast<sockaddr*>(&dest.named),
                                      dest.named_len, dest.hold.get(), dest.cwd.get(), um);
      }
      if (rc == -ENOSYS)
        rc = emulate::bind_sock(sock.value().get(), reinterpret_cast<sockaddr*>(&dest.ss), dest.len, um);
      if (rc == 0) note_bound(sock.value().get(), dest.hold.get(), dest.leaf);  // guardian:own-listener
      return value(rc);
    }
    bool then_continue = false;
    long rc = emulate::connect_sock(sock.value().get(), reinterpret_cast<sockaddr*>(&dest.ss),
                                    dest.len, then_continue);
    if (dest.to_gate && (rc == 0 || rc == -EINPROGRESS))
      note_gate_socket(c, sock.value().get(), dest.resolver);
    if (!then_continue) return value(rc);
    // A blocking connect in progress: wait for it here, on the Waiter, as the tracee's own
    // call would. Letting the tracee's connect run (it would only wait for this connection)
    // let a thread put another socket on the descriptor and another address in memory
    // meanwhile: that one the kernel connected, undecided.
    auto s = std::make_shared<UniqueFd>(std::move(sock.value()));
    auto wait = [s]() -> long {
      pollfd p{s->get(), POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0) return -errno;
      int err = 0;
      socklen_t l = sizeof err;
      if (::getsockopt(s->get(), SOL_SOCKET, SO_ERROR, &err, &l) != 0) return -errno;
      return err ? -err : 0;
    };
    bool started = opts.blocker &&
                   opts.blocker->start(c.n, honour_timeout(s->get(), SO_SNDTIMEO, wait),
                                       [s](long r, Tracee&) { return value(r == -EAGAIN ? -EINPROGRESS : r); });
    // No waiter: the connection goes on without the caller, as after a signal.
    if (!started) return error(EINTR);
    out = Response();
    out.kind = Response::Kind::defer;
    return out;
  }

  // sendto / sendmsg / sendmmsg (net_send.cpp), recvfrom on sockets of the DNS gate.
  if (nr == SYS_recvfrom) return recvfrom_gate(c);
  return net_send(c);
}

}  // namespace guardian::decode
