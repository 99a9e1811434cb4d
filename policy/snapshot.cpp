// Profile snapshot encoding for the shim's fast path (see snapshot.hpp). Little-endian
// length-prefixed fields; the format is private to one guardian build (both ends are the
// same binary's sources), so it carries a version only to refuse a stale shim.
#include "policy/snapshot.hpp"

#include <cstdint>
#include <cstring>

namespace guardian::policy {

namespace {

constexpr std::uint32_t kMagic = 0x50534731;  // "1GSP"
constexpr std::uint32_t kVersion = 1;

struct Writer {
  std::string out;
  void u32(std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out.append(s.data(), s.size());
  }
  void origin(const RuleOrigin& o) {
    str(o.file);
    i32(o.line);
    i32(o.column);
    str(o.pattern);
  }
  void paths(const std::vector<PathRule>& v) {
    u32(static_cast<std::uint32_t>(v.size()));
    for (const PathRule& r : v) {
      str(r.pattern);
      str(r.resolved);
      origin(r.origin);
    }
  }
  void nets(const std::vector<NetRule>& v) {
    u32(static_cast<std::uint32_t>(v.size()));
    for (const NetRule& r : v) {
      str(r.text);
      str(r.resolved);
      origin(r.origin);
    }
  }
};

struct Reader {
  std::string_view in;
  bool ok = true;
  std::uint32_t u32() {
    std::uint32_t v = 0;
    if (in.size() < sizeof v) {
      ok = false;
      return 0;
    }
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::string str() {
    std::uint32_t n = u32();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
  RuleOrigin origin() {
    RuleOrigin o;
    o.file = str();
    o.line = i32();
    o.column = i32();
    o.pattern = str();
    return o;
  }
  // A count can never exceed the bytes left (every element takes at least 4 bytes).
  std::uint32_t count() {
    std::uint32_t n = u32();
    if (n > in.size() / 4) ok = false;
    return ok ? n : 0;
  }
  void paths(std::vector<PathRule>& v) {
    v.clear();
    for (std::uint32_t i = 0, n = count(); ok && i < n; ++i) {
      PathRule r;
      r.pattern = str();
      r.resolved = str();
      r.origin = origin();
      v.push_back(std::move(r));
    }
  }
  void nets(std::vector<NetRule>& v) {
    v.clear();
    for (std::uint32_t i = 0, n = count(); ok && i < n; ++i) {
      NetRule r;
      r.text = str();
      r.resolved = str();
      r.origin = origin();
      v.push_back(std::move(r));
    }
  }
};

}  // namespace

std::string encode_snapshot(const Profile& p) {
  Writer w;
  w.u32(kMagic);
  w.u32(kVersion);
  w.paths(p.read);
  w.paths(p.write);
  w.paths(p.deny);
  w.paths(p.deny_write);
  w.paths(p.exec_allow);
  w.paths(p.exec_deny);
  w.nets(p.connect);
  w.nets(p.bind);
  w.nets(p.net_deny);
  w.u32(static_cast<std::uint32_t>(p.metadata));
  w.origin(p.metadata_origin);
  w.i32(p.deny_errno);
  w.u32(static_cast<std::uint32_t>(p.on_deny));
  w.u32(static_cast<std::uint32_t>(p.audit));
  w.str(p.name);
  return std::move(w.out);
}

bool decode_snapshot(std::string_view bytes, Profile& out) {
  Reader r{bytes};
  if (r.u32() != kMagic || r.u32() != kVersion || !r.ok) return false;
  r.paths(out.read);
  r.paths(out.write);
  r.paths(out.deny);
  r.paths(out.deny_write);
  r.paths(out.exec_allow);
  r.paths(out.exec_deny);
  r.nets(out.connect);
  r.nets(out.bind);
  r.nets(out.net_deny);
  std::uint32_t meta = r.u32();
  out.metadata_origin = r.origin();
  out.deny_errno = r.i32();
  std::uint32_t on_deny = r.u32();
  std::uint32_t audit = r.u32();
  out.name = r.str();
  if (!r.ok || !r.in.empty() || meta > 1 || on_deny > 2 || audit > 1) return false;
  out.metadata = static_cast<MetadataMode>(meta);
  out.on_deny = static_cast<OnDeny>(on_deny);
  out.audit = static_cast<AuditLevel>(audit);
  return true;
}

}  // namespace guardian::policy
