// Listeners the session bound itself (guardian:own-listener): a process of the session may
// connect to a loopback TCP port or an abstract unix name that only the session's own
// sockets listen on, whatever the connect rules say. Test suites start a server on
// 127.0.0.1:0 and talk to it; Python's multiprocessing Manager and forkserver listen on an
// abstract name and connect back. Talking to itself gives the session nothing it did not
// have (pipes between its processes are never decided); every other destination, another
// program's port or socket included, stays the profile's.
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "decode/impl.hpp"

namespace guardian::decode {

namespace {

// Calls `line` for every line of a /proc/net table after its header; stops when it
// returns false. False when the table cannot be read.
template <class F>
bool each_line(const char* file, F&& line) {
  std::FILE* f = std::fopen(file, "re");
  if (!f) return false;
  char* buf = nullptr;
  std::size_t cap = 0;
  bool first = true;
  while (::getline(&buf, &cap, f) > 0) {
    if (first) {
      first = false;
      continue;
    }
    if (!line(buf)) break;
  }
  std::free(buf);
  std::fclose(f);
  return true;
}

}  // namespace

namespace {
// The identity of a socket file: device, inode and birth time (an inode number freed by
// an unlink can be reused; not with the same birth time). Empty when unknown.
std::string file_key(int dirfd, const char* name) {
  struct statx sx {};
  int flags = AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH);
  if (::statx(dirfd, name, flags, STATX_INO | STATX_TYPE | STATX_BTIME, &sx) != 0 ||
      !(sx.stx_mask & STATX_BTIME) || !S_ISSOCK(sx.stx_mode))
    return {};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%u:%u:%llu:%lld.%u", sx.stx_dev_major, sx.stx_dev_minor,
                static_cast<unsigned long long>(sx.stx_ino), static_cast<long long>(sx.stx_btime.tv_sec),
                sx.stx_btime.tv_nsec);
  return buf;
}
}  // namespace

void Handler::Impl::note_bound(int sock, int dir, const std::string& leaf) {
  struct stat st {};
  if (::fstat(sock, &st) == 0) own_sockets.insert(st.st_ino);
  if (dir >= 0 && !leaf.empty()) {
    std::string k = file_key(dir, leaf.c_str());
    if (!k.empty()) own_socket_files.insert(std::move(k));
  }
}

bool Handler::Impl::own_socket_file(int dirfd, const char* name) const {
  if (own_socket_files.empty()) return false;
  std::string k = file_key(dirfd, name);
  return !k.empty() && own_socket_files.count(k) > 0;
}

// One pass over the tables decides both questions a loopback connect asks (its own server?
// nobody there?): two passes raced with a listen() the kernel was making meanwhile (left
// to it after its decision): the first saw no listener, the second the session's own, and
// the session's connect to its own server was refused (EACCES) where natively it worked.
Handler::Impl::TcpListeners Handler::Impl::tcp_listeners(unsigned port) const {
  if (port == 0) return TcpListeners::unknown;
  // Every TCP listener on that port, IPv4 and IPv6, must be one the session bound for
  // `own`: then a connection to the loopback on it reaches the session, whichever address
  // it names.
  bool found = false, foreign = false;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    bool ok = each_line(table, [&](char* l) {
      // "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode"
      char local[64], st[8];
      unsigned long inode = 0;
      if (std::sscanf(l, "%*s %63s %*s %7s %*s %*s %*s %*s %*s %lu", local, st, &inode) != 3) return true;
      if (std::strcmp(st, "0A") != 0) return true;  // not LISTEN
      const char* colon = std::strrchr(local, ':');
      if (!colon || std::strtoul(colon + 1, nullptr, 16) != port) return true;
      if (own_sockets.count(static_cast<ino_t>(inode))) found = true;
      else foreign = true;
      return !foreign;
    });
    if (!ok && table[13] == 0) return TcpListeners::unknown;  // no /proc/net/tcp: cannot tell
  }
  if (foreign) return TcpListeners::foreign;
  return found ? TcpListeners::own : TcpListeners::none;
}


namespace {
// A /proc/net/{tcp,udp}[6] local address ("0100007F:1F90", or 32 hex digits for IPv6) as
// 16 bytes (IPv4 mapped to ::ffff:a.b.c.d) and a port; false when malformed.
bool parse_local(const char* local, std::array<std::uint8_t, 16>& ip, unsigned& port) {
  const char* colon = std::strrchr(local, ':');
  if (!colon) return false;
  std::size_t hex = static_cast<std::size_t>(colon - local);
  if (hex != 8 && hex != 32) return false;
  ip = {};
  // Each group of 8 digits is a 32-bit word printed in the machine's order.
  std::size_t words = hex / 8, at = hex == 8 ? 12 : 0;
  if (hex == 8) ip[10] = ip[11] = 0xff;
  for (std::size_t w = 0; w < words; ++w) {
    char part[9];
    std::memcpy(part, local + w * 8, 8);
    part[8] = 0;
    auto v = static_cast<std::uint32_t>(std::strtoul(part, nullptr, 16));
    std::memcpy(&ip[at + w * 4], &v, 4);
  }
  port = static_cast<unsigned>(std::strtoul(colon + 1, nullptr, 16));
  return true;
}

bool mapped_v4(const std::array<std::uint8_t, 16>& ip) {
  for (std::size_t i = 0; i < 10; ++i)
    if (ip[i]) return false;
  return ip[10] == 0xff && ip[11] == 0xff;
}

bool any_address(const std::array<std::uint8_t, 16>& ip) {
  std::size_t from = mapped_v4(ip) ? 12 : 0;
  for (std::size_t i = from; i < 16; ++i)
    if (ip[i]) return false;
  return true;
}
}  // namespace

bool Handler::Impl::foreign_port_holder(const policy::NetAddr& a, bool stream, bool v6only) const {
  if (a.kind != policy::NetAddr::Kind::ip || a.port == 0) return false;
  std::array<std::uint8_t, 16> mine = a.ip;
  if (a.v4) {  // as the tables show IPv4: ::ffff:a.b.c.d
    for (std::size_t i = 0; i < 10; ++i) mine[i] = 0;
    mine[10] = mine[11] = 0xff;
  }
  const bool mine_v4 = mapped_v4(mine), mine_any = any_address(mine);
  bool held = false;
  const char* const tables[] = {stream ? "/proc/net/tcp" : "/proc/net/udp", stream ? "/proc/net/tcp6" : "/proc/net/udp6"};
  for (const char* table : tables) {
    bool ok = each_line(table, [&](char* l) {
      char local[64], st[8];
      unsigned long inode = 0;
      if (std::sscanf(l, "%*s %63s %*s %7s %*s %*s %*s %*s %*s %lu", local, st, &inode) != 3) return true;
      if (stream && std::strcmp(st, "0A") != 0) return true;  // TCP: only a listener takes connections
      if (inode == 0 || own_sockets.count(static_cast<ino_t>(inode))) return true;
      std::array<std::uint8_t, 16> theirs{};
      unsigned port = 0;
      if (!parse_local(local, theirs, port) || port != a.port) return true;
      const bool theirs_v4 = mapped_v4(theirs), theirs_any = any_address(theirs);
      bool overlap;
      if (mine_v4 == theirs_v4) overlap = mine == theirs || mine_any || theirs_any;
      else if (mine_v4) overlap = theirs_any;  // their [::] takes IPv4 too (unless V6ONLY: unknown here)
      else overlap = mine_any && !v6only;      // our [::] would take theirs
      held = overlap;
      return !held;
    });
    if (!ok && std::strchr(table, '6') == nullptr) return true;  // cannot tell: fail closed
  }
  return held;
}

bool Handler::Impl::own_abstract(const std::string& name) const {
  if (own_sockets.empty()) return false;
  // /proc/net/unix shows an abstract name with '@' for its leading NUL (and for any NUL in
  // it), and prints the rest of the name as it is. Names are unique in the network
  // namespace, but their text is not: the session's own names can show the same (a '@'
  // where the other has a NUL, a trailing space) or hold a newline and a whole forged
  // entry of their own socket's inode under the other's name. So every entry showing this
  // name must be one of the session's sockets: the real one cannot hide.
  std::string shown = "@" + name;
  for (char& ch : shown)
    if (ch == 0) ch = '@';
  bool own = false, foreign = false;
  each_line("/proc/net/unix", [&](char* l) {
    // "Num RefCount Protocol Flags Type St Inode Path"
    unsigned long inode = 0;
    int off = 0;
    if (std::sscanf(l, "%*s %*s %*s %*s %*s %*s %lu %n", &inode, &off) != 1 || off <= 0) return true;
    std::string_view path(l + off);
    while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.remove_suffix(1);
    if (path != shown) return true;
    if (own_sockets.count(static_cast<ino_t>(inode))) own = true;
    else foreign = true;
    return !foreign;
  });
  return own && !foreign;
}

}  // namespace guardian::decode
