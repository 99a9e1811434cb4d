// The query and answer types shared by decoders, the engine, the audit log and learning.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace guardian::policy {

enum class Category : std::uint8_t { file, exec, network, process, system };

// What the syscall does to its object. `stat` is metadata only (stat family, access,
// readlink); `read` opens/lists/reads xattrs; `write` is every write-class operation.
enum class Op : std::uint8_t {
  read,
  write,
  stat,
  exec,
  connect,
  bind,
  socket,   // socket(2) family/type check
  signal,   // kill/tgkill/pidfd_send_signal to a process
  trace,    // ptrace, process_vm_*, pidfd_getfd on a process
  ioctl,    // TIOCSTI and friends
  other,
};

enum class Verdict : std::uint8_t { allow, deny, would_deny, kill };

std::string_view to_string(Category c) noexcept;
std::string_view to_string(Op o) noexcept;
std::string_view to_string(Verdict v) noexcept;  // "allow", "deny", "would-deny", "kill"

// A socket address as the tracee gave it, decoded.
struct NetAddr {
  enum class Kind : std::uint8_t { none, ip, unix_path, unix_abstract, unix_unnamed };
  Kind kind = Kind::none;
  bool v4 = false;                 // ip: true for IPv4 and IPv4-mapped IPv6 (then ip[12..15] holds it)
  std::array<std::uint8_t, 16> ip{};  // network byte order; v4 addresses in the last 4 bytes
  std::uint16_t port = 0;          // host byte order
  std::string_view unix_name;      // unix_path: resolved absolute path; unix_abstract: name without '@'
};

// One question for the engine. Views point into the decoder's buffers; valid for the call.
struct Request {
  Category category = Category::file;
  Op op = Op::read;
  // file/exec: the path resolved as the kernel would (absolute, no symlinks, no . or ..).
  std::string_view path;
  // file/exec: the absolute path as given (cwd/dirfd prepended, . and .. folded lexically,
  // symlinks not followed). Deny rules match it as well as `path`.
  std::string_view lexical_path;
  // True when every symlink followed from lexical_path to path lies where the session may
  // not write (system aliases like /etc/alternatives): allow rules may then match lexical_path.
  bool lexical_trusted = false;
  NetAddr addr;                    // network
  std::string_view host;           // network: host name this address was answered for, if known
  // The requesting process (thread group id), 0 if unknown. Lets rules written under
  // /proc/self match the resolved /proc/PID of the process that asks.
  std::int32_t pid = 0;
};

struct RuleOrigin;  // profile.hpp

struct Decision {
  Verdict verdict = Verdict::deny;
  const RuleOrigin* rule = nullptr;  // the rule that decided; nullptr: nothing matched, default deny
  int err = 0;                       // errno to return on deny (profile deny_errno)
  bool ancestor = false;             // allowed only as metadata on an ancestor of an allowed path
};

}  // namespace guardian::policy
