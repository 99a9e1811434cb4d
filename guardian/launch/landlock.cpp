// Landlock ruleset: ABI probe, per-ABI masks, ruleset built in the parent, applied in the child.
#include "launch/landlock.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <functional>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "policy/link_cache.hpp"

// The build host's headers are 6.1 (ABI 2); the kernel may offer more. Values as in the
// kernel's include/uapi/linux/landlock.h.
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)  // ABI 2
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)  // ABI 5
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)  // ABI 4
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
// Same layout as the kernel's (ABI 4); absent from headers that lack the net rights.
struct landlock_net_port_attr {
  __u64 allowed_access;
  __u64 port;
};
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)  // ABI 6
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#ifndef LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF
#define LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF (1U << 0)  // ABI 7
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1)
#define LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF (1U << 2)
#endif

namespace guardian::launch {
namespace {

// LANDLOCK_RULE_NET_PORT is an enum member in newer headers, so it cannot be #ifndef-tested.
constexpr int kRuleNetPort = 2;

// struct landlock_ruleset_attr as of ABI 6 (the 6.1 header has only the first member). The
// size passed to the kernel tells it which members we know.
struct RulesetAttr {
  __u64 handled_access_fs;
  __u64 handled_access_net;  // ABI 4
  __u64 scoped;              // ABI 6
};
static_assert(sizeof(RulesetAttr) == 24);
static_assert(sizeof(landlock_net_port_attr) == 16);

long ll_create(const RulesetAttr* attr, std::size_t size, __u32 flags) {
  return ::syscall(__NR_landlock_create_ruleset, attr, size, flags);
}
long ll_add(int fd, int type, const void* attr) {
  return ::syscall(__NR_landlock_add_rule, fd, type, attr, 0U);
}

constexpr std::uint64_t kFsAbi1 =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
    LANDLOCK_ACCESS_FS_MAKE_SYM;

}  // namespace

int landlock_abi() noexcept {
  long v = ll_create(nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : static_cast<int>(v);
}

LandlockMasks landlock_masks(int abi) noexcept {
  LandlockMasks m;
  if (abi < 1) return m;
  m.handled_fs = kFsAbi1;
  if (abi >= 2) m.handled_fs |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) m.handled_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) m.handled_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  // Device ioctls go with reading: the supervisor does not decide ioctls on files it let
  // the program open, so the envelope must not either (a terminal opened via /dev/tty).
  m.read = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_IOCTL_DEV;
  m.write = m.read | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
            LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
            LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
            LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER |
            LANDLOCK_ACCESS_FS_TRUNCATE;
  // The kernel opens an executable for reading as well as executing (and so the loader).
  m.exec = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE;
  m.file_only = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
  m.read &= m.handled_fs;
  m.write &= m.handled_fs;
  m.exec &= m.handled_fs;
  m.file_only &= m.handled_fs;
  if (abi >= 4) m.net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
  if (abi >= 6) m.scopes = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
  if (abi >= 7) m.restrict_flags = LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON;
  return m;
}

Result<LandlockRuleset> build_landlock_ruleset(const policy::Envelope& env, int abi) {
  if (abi < 1) return fail("Landlock is not available in this kernel");
  LandlockMasks m = landlock_masks(abi);
  LandlockRuleset rs;
  rs.abi = abi;
  rs.handled_fs = m.handled_fs;
  if (m.net) {
    if (!env.connect.all) rs.handled_net |= LANDLOCK_ACCESS_NET_CONNECT_TCP;
    if (!env.bind.all) rs.handled_net |= LANDLOCK_ACCESS_NET_BIND_TCP;
  }
  if (m.scopes) {
    if (env.scope_abstract_unix) rs.scoped |= LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
    if (env.scope_signal) rs.scoped |= LANDLOCK_SCOPE_SIGNAL;
  }
  RulesetAttr attr{rs.handled_fs, rs.handled_net, rs.scoped};
  std::size_t size = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
  long fd = ll_create(&attr, size, 0);
  if (fd < 0) return fail_errno("cannot create the Landlock ruleset", errno);
  rs.fd.reset(static_cast<int>(fd));

  // One O_PATH open, one rule and one close per entry (two hundred with the aliases of
  // /usr/bin): half of them on a helper thread. The kernel merges rules from both; what
  // was skipped is reported in the envelope's order.
  auto add_paths = [&](std::size_t from, std::size_t to, std::vector<std::string>& skipped) {
    for (std::size_t i = from; i < to; ++i) {
      const policy::EnvelopePath& e = env.paths[i];
      std::uint64_t access = 0;
      if (e.access & policy::kEnvRead) access |= m.read;
      if (e.access & policy::kEnvWrite) access |= m.write;
      if (e.access & policy::kEnvExec) access |= m.exec;
      if (!e.is_dir) access &= m.file_only;
      if (access == 0) continue;
      UniqueFd path_fd(::open(e.path.c_str(), O_PATH | O_CLOEXEC));
      if (!path_fd) {
        skipped.push_back(fmt::format("{}: {}", e.path, std::strerror(errno)));
        continue;
      }
      landlock_path_beneath_attr pb{};
      pb.allowed_access = access;
      pb.parent_fd = path_fd.get();
      if (ll_add(rs.fd.get(), LANDLOCK_RULE_PATH_BENEATH, &pb) == 0) continue;
      int err = errno;
      if (err == EINVAL && e.is_dir) {
        // Replaced by a file since the envelope was computed: keep only the file rights.
        pb.allowed_access = access & m.file_only;
        if (pb.allowed_access != 0 && ll_add(rs.fd.get(), LANDLOCK_RULE_PATH_BENEATH, &pb) == 0) continue;
        err = errno;
      }
      skipped.push_back(fmt::format("{}: {}", e.path, std::strerror(err)));
    }
  };
  std::size_t half = env.paths.size() >= 64 ? env.paths.size() / 2 : env.paths.size();
  std::vector<std::string> skipped_second;
  std::thread helper;
  if (half < env.paths.size()) {
    try {
      helper = std::thread(add_paths, half, env.paths.size(), std::ref(skipped_second));
    } catch (const std::system_error&) {
      half = env.paths.size();  // no thread: all here
    }
  }
  add_paths(0, half, rs.skipped);
  if (helper.joinable()) helper.join();
  rs.skipped.insert(rs.skipped.end(), skipped_second.begin(), skipped_second.end());

  auto add_ports = [&](const policy::PortSet& set, std::uint64_t right) -> Result<void> {
    if (!(rs.handled_net & right)) return outcome::success();
    for (auto r : set.ports) {
      for (unsigned p = r.lo; p <= r.hi; ++p) {
        landlock_net_port_attr np{right, p};
        if (ll_add(rs.fd.get(), kRuleNetPort, &np) != 0)
          return fail_errno(fmt::format("cannot add Landlock rule for TCP port {}", p), errno);
      }
    }
    return outcome::success();
  };
  if (auto r = add_ports(env.connect, LANDLOCK_ACCESS_NET_CONNECT_TCP); !r) return r.error();
  if (auto r = add_ports(env.bind, LANDLOCK_ACCESS_NET_BIND_TCP); !r) return r.error();
  return rs;
}

int landlock_apply_in_child(int ruleset_fd) noexcept {
  // Log denials after exec too (ABI 7): those are what the supervisor did not see. Older
  // kernels reject the flag with EINVAL; then enforce without it.
  if (::syscall(__NR_landlock_restrict_self, ruleset_fd, LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON) == 0)
    return 0;
  if (errno != EINVAL) return errno;
  if (::syscall(__NR_landlock_restrict_self, ruleset_fd, 0U) == 0) return 0;
  return errno;
}

std::map<std::string, std::string> LandlockSetup::audit_fields() const {
  std::map<std::string, std::string> f;
  f["landlock"] = status;
  f["landlock_abi"] = std::to_string(abi);
  if (!active) return f;
  f["landlock_read"] = policy::envelope_paths_text(envelope, policy::kEnvRead);
  f["landlock_write"] = policy::envelope_paths_text(envelope, policy::kEnvWrite);
  f["landlock_exec"] = policy::envelope_paths_text(envelope, policy::kEnvExec);
  f["landlock_connect_tcp"] = abi >= 4 ? policy::port_set_text(envelope.connect) : "all";
  f["landlock_bind_tcp"] = abi >= 4 ? policy::port_set_text(envelope.bind) : "all";
  f["landlock_scoped"] = abi >= 6 ? policy::scopes_text(envelope) : "none";
  // Listed by `guardian profile envelope --verbose`; the record only counts them.
  std::size_t aliases = 0;
  for (const auto& p : envelope.paths) aliases += policy::is_alias_entry(p) ? 1 : 0;
  f["landlock_alias_targets"] = std::to_string(aliases);
  if (!skipped.empty()) {
    std::string s;
    for (const auto& k : skipped) s += (s.empty() ? "" : "; ") + k;
    f["landlock_skipped"] = s;
  }
  return f;
}

policy::EnvelopeOptions run_envelope_options(
    const std::string& command_path,
    const std::vector<std::pair<std::string, std::string>>& extra_rules) {
  policy::EnvelopeOptions o;
  // The alias scans' listings from earlier runs (policy/link_cache.hpp): most of the
  // envelope's cost, read again only when a scanned directory changed.
  o.link_cache = &policy::LinkCache::user();
  if (!command_path.empty()) o.extra_exec.push_back(command_path);
  auto absolute = [](std::string p) {
    if (!p.empty() && p[0] == '~') {
      const char* home = std::getenv("HOME");
      p = std::string(home ? home : "") + p.substr(1);
    }
    if (p.empty() || p[0] != '/') {
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof cwd)) p = std::string(cwd) + "/" + p;
    }
    return p;
  };
  for (const auto& [kind, pattern] : extra_rules) {
    if (kind == "read") o.extra_read.push_back(absolute(pattern));
    else if (kind == "write") o.extra_write.push_back(absolute(pattern));
    else if (kind == "exec") o.extra_exec_rules.push_back(absolute(pattern));
    else if (kind == "connect") o.extra_connect.push_back(pattern);
    else if (kind == "bind") o.extra_bind.push_back(pattern);
  }
  return o;
}

void preload_envelope_cache() { policy::LinkCache::user().preload(); }

LandlockSetup prepare_landlock(const policy::Profile& profile, const policy::EnvelopeOptions& opts,
                               const std::string& off_reason) {
  LandlockSetup s;
  s.abi = landlock_abi();
  if (!off_reason.empty()) {
    s.status = "off (" + off_reason + ")";
    return s;
  }
  if (s.abi == 0) {
    s.status = "unavailable (kernel without Landlock)";
    std::fputs("guardian: notice: this kernel offers no Landlock; the supervisor alone enforces the profile\n",
               stderr);
    return s;
  }
  s.envelope = policy::compute_envelope(profile, opts);
  auto rs = build_landlock_ruleset(s.envelope, s.abi);
  if (!rs) {
    s.status = "unavailable (" + rs.error().message + ")";
    std::fprintf(stderr, "guardian: notice: %s; the supervisor alone enforces the profile\n",
                 rs.error().message.c_str());
    return s;
  }
  s.ruleset = std::move(rs.value().fd);
  s.skipped = std::move(rs.value().skipped);
  s.active = true;
  s.status = "applied";
  return s;
}

}  // namespace guardian::launch
