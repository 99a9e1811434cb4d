// Names of the request enums, as they appear in audit records.
#include "policy/request.hpp"

namespace guardian::policy {

std::string_view to_string(Category c) noexcept {
  switch (c) {
    case Category::file: return "file";
    case Category::exec: return "exec";
    case Category::network: return "network";
    case Category::process: return "process";
    case Category::system: return "system";
  }
  return "?";
}

std::string_view to_string(Op o) noexcept {
  switch (o) {
    case Op::read: return "read";
    case Op::write: return "write";
    case Op::stat: return "stat";
    case Op::exec: return "exec";
    case Op::connect: return "connect";
    case Op::bind: return "bind";
    case Op::socket: return "socket";
    case Op::signal: return "signal";
    case Op::trace: return "trace";
    case Op::ioctl: return "ioctl";
    case Op::other: return "other";
  }
  return "?";
}

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::allow: return "allow";
    case Verdict::deny: return "deny";
    case Verdict::would_deny: return "would-deny";
    case Verdict::kill: return "kill";
  }
  return "?";
}

}  // namespace guardian::policy
