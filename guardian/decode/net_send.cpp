// Sends (sendto with a destination, sendmsg, sendmmsg): the destination is decided, then the
// supervisor sends its own copy of the data to its own copy of the address on a duplicate
// of the tracee's socket, so rewriting either after the check changes nothing. Sends that
// name no destination, and sends on stream sockets, are performed the same way: let through,
// the kernel would read the message header and the descriptor again, and a thread that
// filled in msg_name or moved a datagram socket onto the descriptor meanwhile sent where no
// rule allows. The copy is sent without waiting; when the tracee's socket is blocking and
// the send would block, the rest is sent on a Waiter thread (HandlerOptions::blocker) that
// blocks as the tracee's call would, and the syscall is answered when it returns
// (Response::Kind::defer).
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "decode/impl.hpp"
#include "emulate/emulate.hpp"

namespace guardian::decode {

using policy::Op;

namespace {

constexpr std::size_t kMaxData = 1 << 20;  // bytes we copy for one emulated send (a stream
                                           // send of more is sent in part, as send() may)
constexpr std::size_t kMaxIov = 1024;      // UIO_MAXIOV
constexpr std::size_t kMaxControl = 65536;

int sock_type(int fd) {
  int t = 0;
  socklen_t l = sizeof t;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &l) == 0 ? t : -1;
}

// One message ready to go: our copies of destination, data and control (descriptors passed
// along are our duplicates of the tracee's, kept open in `passed`).
struct Prepared {
  NetDest dest;
  bool named = false;  // a destination goes with it (decided)
  bool stream = false;  // SOCK_STREAM: may go in parts; `off` bytes are sent already
  std::size_t off = 0;
  std::vector<char> data, control;
  std::vector<UniqueFd> passed;
  int flags = 0;

  // Sends the message, or for a stream what is left of it (the control data goes with the
  // first part). A stream's parts sent so far count: an error or an interruption after some
  // progress answers that progress, as the kernel's send would.
  long send(int sock, bool wait) {
    for (;;) {
      iovec one{data.data() + off, data.size() - off};
      msghdr m{};
      if (named) {
        m.msg_name = &dest.ss;
        m.msg_namelen = dest.len;
      }
      m.msg_iov = &one;
      m.msg_iovlen = 1;
      if (off == 0 && !control.empty()) {
        m.msg_control = control.data();
        m.msg_controllen = control.size();
      }
      const int fl = flags & ~MSG_ZEROCOPY;  // our copy is freed when we return
      long rc = wait ? emulate::sendmsg_wait(sock, &m, fl) : emulate::sendmsg_sock(sock, &m, fl);
      if (!stream) return rc;
      if (rc < 0) {
        if (rc == -EINTR && wait) return rc;  // the Waiter looks around and calls again
        return off ? static_cast<long>(off) : rc;
      }
      off += static_cast<std::size_t>(rc);
      if (off >= data.size() || !wait) return static_cast<long>(off);
    }
  }
  // Whether a non-waiting send() left something that a blocking socket would wait to send.
  bool unfinished(long rc) const {
    return rc == -EAGAIN || (stream && rc >= 0 && static_cast<std::size_t>(rc) < data.size());
  }
};

// Is the socket's peer this process (the shim's channel)? What we send there for a tracee
// carries our pid in SCM_CREDENTIALS; the receiver takes the tracee's from emulate::own_send_take.
bool own_peer(int sock) {
  ucred cr{};
  socklen_t l = sizeof cr;
  return ::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && cr.pid == ::getpid();
}

// Would the tracee's own call have blocked here? (A blocking socket, no MSG_DONTWAIT.)
bool would_block(int sock, int flags) {
  if (flags & MSG_DONTWAIT) return false;
  int fl = ::fcntl(sock, F_GETFL);
  return fl >= 0 && !(fl & O_NONBLOCK);
}

}  // namespace

std::function<long()> honour_timeout(int sock, int optname, std::function<long()> op) {
  timeval tv{};
  socklen_t l = sizeof tv;
  if (::getsockopt(sock, SOL_SOCKET, optname, &tv, &l) != 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
    return op;
  // The Waiter interrupts the call to look around, which restarts the socket's own timer:
  // keep the deadline here so SO_SNDTIMEO / SO_RCVTIMEO end the wait as they would natively.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(tv.tv_sec) +
                  std::chrono::microseconds(tv.tv_usec);
  return [op = std::move(op), deadline] {
    long r = op();
    if (r == -EINTR && std::chrono::steady_clock::now() >= deadline) return long{-EAGAIN};
    return r;
  };
}

Response Handler::Impl::net_send(Ctx& c) {
  Response out;
  const int nr = c.n.nr;
  const pid_t tgid = c.tgid, tid = c.n.tid;
  auto sigpipe = [tgid, tid](long rc, int flags) {
    if (rc == -EPIPE && !(flags & MSG_NOSIGNAL)) ::syscall(SYS_tgkill, tgid, tid, SIGPIPE);
    return rc;
  };
  // Reads and decides one message whose header was read from the tracee (`m`). 0 = ready,
  // < 0 = -errno, LONG_MIN = `o` holds the denial.
  auto prepare = [&](int sock, const msghdr& m, int flags, Prepared& p, Response& o) -> long {
    if (m.msg_iovlen > kMaxIov || m.msg_controllen > kMaxControl) return -EMSGSIZE;
    p.stream = sock_type(sock) == SOCK_STREAM;
    // A stream socket ignores the name (but for fast open: decided by the caller), and a
    // message without one goes to the connected peer, decided at connect.
    p.named = m.msg_name != nullptr && !p.stream;
    if (p.named && !decide_dest(c, reinterpret_cast<std::uint64_t>(m.msg_name), m.msg_namelen,
                                Op::connect, p.dest, o, sock))
      return LONG_MIN;
    p.flags = flags;
    std::vector<iovec> iov(m.msg_iovlen);
    if (m.msg_iovlen && !c.t.read(reinterpret_cast<std::uint64_t>(m.msg_iov), iov.data(),
                                  iov.size() * sizeof(iovec)))
      return -EFAULT;
    std::size_t total = 0;
    for (auto& v : iov) total += v.iov_len;
    if (total > kMaxData && !p.stream) return -EMSGSIZE;
    p.data.resize(std::min(total, kMaxData));
    std::size_t off = 0;
    for (auto& v : iov) {
      std::size_t n = std::min(v.iov_len, p.data.size() - off);
      if (n && !c.t.read(reinterpret_cast<std::uint64_t>(v.iov_base), p.data.data() + off, n))
        return -EFAULT;
      off += n;
    }
    p.control.resize(m.msg_controllen);
    if (!p.control.empty()) {
      if (!c.t.read(reinterpret_cast<std::uint64_t>(m.msg_control), p.control.data(),
                    p.control.size()))
        return -EFAULT;
      msghdr tmp{};
      tmp.msg_control = p.control.data();
      tmp.msg_controllen = p.control.size();
      for (cmsghdr* cm = CMSG_FIRSTHDR(&tmp); cm; cm = CMSG_NXTHDR(&tmp, cm)) {
        // glibc checks neither the first header's length nor the last one's against the
        // buffer: one that overruns it (the kernel refuses it: EINVAL) must not make us
        // read and write descriptors past our copy.
        const std::size_t room = p.control.size() - static_cast<std::size_t>(
                                                        reinterpret_cast<char*>(cm) - p.control.data());
        if (cm->cmsg_len < CMSG_LEN(0) || cm->cmsg_len > room) return -EINVAL;
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
            cm->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
          // We send it, with our capabilities: as root (CAP_SYS_ADMIN, which the session
          // lost) the kernel would let any process ID through, and a receiver would take
          // the message for an outsider's. The session may only name itself.
          ucred cr{};
          std::memcpy(&cr, CMSG_DATA(cm), sizeof cr);
          if (cr.pid != c.tgid) {
            policy::Request req;
            req.category = policy::Category::process;
            req.op = Op::other;
            req.pid = c.tgid;
            addr_text = "pid:" + std::to_string(cr.pid);
            local(c, req, false, EPERM, addr_text, o);
            return LONG_MIN;
          }
        }
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        // Descriptors passed along are the tracee's: pass our duplicates of them.
        std::size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int* fds = reinterpret_cast<int*>(CMSG_DATA(cm));
        for (std::size_t i = 0; i < nfd; ++i) {
          auto f = c.t.take_fd(fds[i]);
          if (!f) return -EBADF;
          fds[i] = f.value().get();
          p.passed.push_back(std::move(f.value()));
        }
      }
    }
    if (!valid(c, o)) return LONG_MIN;
    return 0;
  };
  // Before a send to the gate: the socket gets its port now, as the send's autobind would
  // give it, so the gate knows who asks before the query arrives (audit); its recvfrom()
  // is emulated from now on.
  auto to_gate = [this, &c](int sock, const Prepared& p) {
    if (!p.dest.to_gate) return;
    sockaddr_storage ss{};
    socklen_t l = sizeof ss;
    if (::getsockname(sock, reinterpret_cast<sockaddr*>(&ss), &l) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
      bool v6 = ss.ss_family == AF_INET6;
      std::uint16_t port = v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                              : reinterpret_cast<sockaddr_in*>(&ss)->sin_port;
      if (port == 0) {
        sockaddr_storage any{};
        any.ss_family = ss.ss_family;
        ::bind(sock, reinterpret_cast<sockaddr*>(&any),
               v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
      }
    }
    note_gate_socket(c, sock, p.dest.resolver);
  };
  // Sends `p`; when a blocking socket would block, waits on the Blocker: then `then` turns
  // the result into the answer, on the loop's thread. Returns false with `o` = defer then.
  using Then = std::function<Response(long rc, Tracee& t)>;
  // NETLINK_ROUTE: only requests that read (RTM_GET*, and netlink's own control messages).
  // guardian sends with its own credentials, and with a destination named the kernel asks
  // only the sender for CAP_NET_ADMIN: a root session's RTM_NEWADDR, NEWROUTE, DELLINK...
  // would change the machine's network for everyone (the session itself has no
  // CAP_NET_ADMIN: launch drops it, so its write(2)s are refused by the kernel).
  auto netlink_ok = [&](int sock, const Prepared& p, Response& o) {
    int dom = 0, proto = 0;
    socklen_t l = sizeof dom;
    if (::getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &dom, &l) != 0 || dom != AF_NETLINK) return true;
    l = sizeof proto;
    if (::getsockopt(sock, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0 || proto != NETLINK_ROUTE) return true;
    std::size_t off = 0;
    const std::size_t len = p.data.size();
    while (len - off >= sizeof(nlmsghdr)) {  // as the kernel walks them (netlink_rcv_skb)
      nlmsghdr h;
      std::memcpy(&h, p.data.data() + off, sizeof h);
      if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len - off) break;
      if (h.nlmsg_type >= RTM_BASE && (h.nlmsg_type & 3) != 2) {
        policy::Request req;
        req.category = policy::Category::network;
        req.op = Op::other;
        addr_text = "netlink:route/" + std::to_string(h.nlmsg_type);
        return local(c, req, false, EPERM, addr_text, o);
      }
      off += std::min<std::size_t>(NLMSG_ALIGN(h.nlmsg_len), len - off);
    }
    return true;
  };
  auto send_or_wait = [&](UniqueFd& sock, std::shared_ptr<Prepared> p, long& rc, Then then,
                          Response& o) {
    if (!netlink_ok(sock.get(), *p, o)) return false;
    to_gate(sock.get(), *p);
    const bool own = own_peer(sock.get());
    if (own) emulate::own_send_push(c.tgid);
    rc = sigpipe(p->send(sock.get(), false), p->flags);
    if (own && rc < 0) emulate::own_send_cancel(c.tgid);
    if (!p->unfinished(rc) || !opts.blocker || !would_block(sock.get(), p->flags)) return true;
    auto s = std::make_shared<UniqueFd>(std::move(sock));
    bool started = opts.blocker->start(
        c.n, honour_timeout(s->get(), SO_SNDTIMEO, [s, p] { return p->send(s->get(), true); }),
        [s, p, then = std::move(then), sigpipe](long r, Tracee& t) {
          // Interrupted after a stream made progress: that progress is the answer (a
          // restart would send it twice).
          if (r < 0 && p->stream && p->off) r = static_cast<long>(p->off);
          return then(sigpipe(r, p->flags), t);
        });
    if (!started) return true;  // too many waiting: EAGAIN, as before
    o = Response();
    o.kind = Response::Kind::defer;
    return false;
  };

  if (nr == SYS_sendto) {
    if (c.arg(4) == 0) return cont();  // no destination (a register): the peer, decided at connect
    int flags = c.iarg(3);
    auto sock = c.t.take_fd(c.iarg(0));
    if (!sock) return error(EBADF);
    int st = sock_type(sock.value().get());
    if (st == SOCK_STREAM && !(flags & MSG_FASTOPEN)) {
      // The address is ignored; sent by us all the same, on the socket checked.
      auto p = std::make_shared<Prepared>();
      p->stream = true;
      p->flags = flags;
      p->data.resize(std::min<std::size_t>(c.arg(2), kMaxData));
      if (!p->data.empty() && !c.t.read(c.arg(1), p->data.data(), p->data.size())) return error(EFAULT);
      if (!valid(c, out)) return out;
      long rc = 0;
      if (!send_or_wait(sock.value(), p, rc, [](long r, Tracee&) { return value(r); }, out))
        return out;
      return value(rc);
    }
    if (st == SOCK_STREAM) {
      // TCP fast open connects: decide it, then refuse so the program falls back to
      // connect(), which is emulated.
      NetDest dest;
      if (!decide_dest(c, c.arg(4), c.arg(5), Op::connect, dest, out, sock.value().get()))
        return out;
      return error(EOPNOTSUPP);
    }
    if (c.arg(2) > kMaxData) return error(EMSGSIZE);
    auto p = std::make_shared<Prepared>();
    if (!decide_dest(c, c.arg(4), c.arg(5), Op::connect, p->dest, out, sock.value().get()))
      return out;
    p->named = true;
    p->flags = flags;
    p->data.resize(c.arg(2));
    if (!p->data.empty() && !c.t.read(c.arg(1), p->data.data(), p->data.size()))
      return error(EFAULT);
    if (!valid(c, out)) return out;
    long rc = 0;
    if (!send_or_wait(sock.value(), p, rc, [](long r, Tracee&) { return value(r); }, out))
      return out;
    return value(rc);
  }
  if (nr == SYS_sendmsg) {
    msghdr m{};
    if (!c.t.read(c.arg(1), &m, sizeof m)) return error(EFAULT);
    int flags = c.iarg(2);
    auto sock = c.t.take_fd(c.iarg(0));
    if (!sock) return error(EBADF);
    auto p = std::make_shared<Prepared>();
    long rc = 0;
    if (m.msg_name && (flags & MSG_FASTOPEN) && sock_type(sock.value().get()) == SOCK_STREAM) {
      // Fast open connects to the name: decided as a connect, then sent by us with it.
      rc = prepare(sock.value().get(), m, flags, *p, out);
      if (rc == 0 && !decide_dest(c, reinterpret_cast<std::uint64_t>(m.msg_name), m.msg_namelen,
                                  Op::connect, p->dest, out, sock.value().get()))
        rc = LONG_MIN;
      p->named = true;
      p->stream = false;  // one attempt: its result is the connect's
    } else {
      rc = prepare(sock.value().get(), m, flags, *p, out);
    }
    if (rc == LONG_MIN) return out;
    if (rc < 0) return value(rc);
    if (!send_or_wait(sock.value(), p, rc, [](long r, Tracee&) { return value(r); }, out))
      return out;
    return value(rc);
  }
  if (nr == SYS_sendmmsg) {
    std::size_t vlen = std::min<std::size_t>(c.arg(2), kMaxIov);
    std::vector<mmsghdr> mm(vlen);
    if (vlen && !c.t.read(c.arg(1), mm.data(), vlen * sizeof(mmsghdr))) return error(EFAULT);
    int flags = c.iarg(3);
    auto sock = c.t.take_fd(c.iarg(0));
    if (!sock) return error(EBADF);
    // On a stream socket the name is ignored, but for TCP fast open (MSG_FASTOPEN), which
    // connects to it without passing connect()'s checks (Landlock's included): decided.
    const bool fastopen = (flags & MSG_FASTOPEN) && sock_type(sock.value().get()) == SOCK_STREAM;
    long n_sent = 0;
    for (std::size_t i = 0; i < vlen; ++i) {
      auto p = std::make_shared<Prepared>();
      long rc = prepare(sock.value().get(), mm[i].msg_hdr, flags, *p, out);
      if (rc == 0 && fastopen && mm[i].msg_hdr.msg_name) {
        if (!decide_dest(c, reinterpret_cast<std::uint64_t>(mm[i].msg_hdr.msg_name),
                         mm[i].msg_hdr.msg_namelen, Op::connect, p->dest, out, sock.value().get()))
          rc = LONG_MIN;
        p->named = true;
        p->stream = false;
      }
      if (rc == LONG_MIN) return n_sent ? value(n_sent) : std::move(out);
      std::uint64_t at = c.arg(1) + i * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len);
      if (rc == 0 && i == 0) {
        // Only the first message waits, as the kernel's sendmmsg returns what it sent
        // once a later one would block.
        Then then = [at](long r, Tracee& t) {
          if (r < 0) return value(r);
          unsigned len = static_cast<unsigned>(r);
          return t.write(at, &len, sizeof len) ? value(1) : value(1);
        };
        if (!send_or_wait(sock.value(), p, rc, std::move(then), out)) return out;
      } else if (rc == 0) {
        if (!netlink_ok(sock.value().get(), *p, out)) return n_sent ? value(n_sent) : std::move(out);
        to_gate(sock.value().get(), *p);
        const bool own = own_peer(sock.value().get());
        if (own) emulate::own_send_push(c.tgid);
        rc = sigpipe(p->send(sock.value().get(), false), flags);
        if (own && rc < 0) emulate::own_send_cancel(c.tgid);
      }
      if (rc < 0) return n_sent ? value(n_sent) : value(rc);
      unsigned len = static_cast<unsigned>(rc);
      if (!c.t.write(at, &len, sizeof len)) {
        // The backend cannot write msg_len back: report this one message sent only.
        return value(n_sent + 1);
      }
      ++n_sent;
    }
    return value(n_sent);
  }
  return error(ENOSYS);
}

}  // namespace guardian::decode
