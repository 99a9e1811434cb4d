// The ask protocol: JSON Lines encoding of requests, parsing of answers, and the overlay
// profile that "always" answers go to.
#include "session/ask_protocol.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace guardian::session {

namespace {

// The overlay's sections in the order they are written.
const char* const kSections[] = {"files/read",      "files/write",  "files/deny",
                                 "exec/allow",      "exec/deny",    "network/connect",
                                 "network/bind",    "network/deny"};

// Skips blanks; returns false at the end.
bool skip_ws(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  return i < s.size();
}

bool parse_string(std::string_view s, std::size_t& i, std::string& out) {
  if (i >= s.size() || s[i] != '"') return false;
  ++i;
  while (i < s.size()) {
    char c = s[i++];
    if (c == '"') return true;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i >= s.size()) return false;
    char e = s[i++];
    switch (e) {
      case '"': case '\\': case '/': out += e; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (i + 4 > s.size()) return false;
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
          char h = s[i++];
          v <<= 4;
          if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
          else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
          else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
          else return false;
        }
        if (v < 0x80) out += static_cast<char>(v);
        else out += '?';  // answers carry ids and verdicts: nothing beyond ASCII matters
        break;
      }
      default: return false;
    }
  }
  return false;
}

}  // namespace

const char* to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::once: return "once";
    case Verdict::always: return "always";
    case Verdict::deny: return "deny";
    case Verdict::deny_always: return "deny-always";
  }
  return "deny";
}

std::optional<Verdict> verdict_from(std::string_view t) {
  if (t == "once" || t == "allow") return Verdict::once;
  if (t == "always" || t == "allow-always") return Verdict::always;
  if (t == "deny") return Verdict::deny;
  if (t == "deny-always" || t == "never") return Verdict::deny_always;
  return std::nullopt;
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string encode_request(const AskMessage& m) {
  const auto& q = m.query;
  std::string o = "{\"type\":\"request\",\"id\":" + std::to_string(m.id) +
                  ",\"pid\":" + std::to_string(q.pid) + ",\"tid\":" + std::to_string(q.tid) +
                  ",\"exe\":" + json_quote(q.exe) + ",\"argv\":[";
  for (std::size_t i = 0; i < m.argv.size(); ++i) o += (i ? "," : "") + json_quote(m.argv[i]);
  o += "],\"syscall\":" + json_quote(q.syscall) +
       ",\"category\":" + json_quote(policy::to_string(q.category)) +
       ",\"op\":" + json_quote(policy::to_string(q.op));
  if (!q.path.empty()) o += ",\"path\":" + json_quote(q.path);
  if (!q.addr.empty()) o += ",\"addr\":" + json_quote(q.addr);
  if (!q.host.empty()) o += ",\"host\":" + json_quote(q.host);
  char t[32];
  std::snprintf(t, sizeof t, "%g", m.timeout_s);
  o += ",\"timeout_s\":" + std::string(t) + "}\n";
  return o;
}

std::string encode_resolved(std::uint64_t id, Verdict v, std::string_view by) {
  return "{\"type\":\"resolved\",\"id\":" + std::to_string(id) + ",\"verdict\":" +
         json_quote(to_string(v)) + ",\"by\":" + json_quote(by) + "}\n";
}

std::string encode_hello(int pid) {
  return "{\"type\":\"hello\",\"protocol\":1,\"guardian_pid\":" + std::to_string(pid) + "}\n";
}

std::string encode_error(std::string_view message) {
  return "{\"type\":\"error\",\"message\":" + json_quote(message) + "}\n";
}

Result<AnswerLine> parse_answer(std::string_view s) {
  std::size_t i = 0;
  if (!skip_ws(s, i) || s[i] != '{') return fail("expected a JSON object");
  ++i;
  std::optional<std::uint64_t> id;
  std::optional<Verdict> verdict;
  bool first = true;
  for (;;) {
    if (!skip_ws(s, i)) return fail("unterminated object");
    if (s[i] == '}') {
      ++i;
      break;
    }
    if (!first) {
      if (s[i] != ',') return fail("expected ',' or '}'");
      ++i;
      skip_ws(s, i);
    }
    first = false;
    std::string key;
    if (!parse_string(s, i, key)) return fail("expected a string key");
    if (!skip_ws(s, i) || s[i] != ':') return fail("expected ':'");
    ++i;
    if (!skip_ws(s, i)) return fail("missing value");
    if (s[i] == '"') {
      std::string v;
      if (!parse_string(s, i, v)) return fail("bad string value");
      if (key == "verdict") {
        verdict = verdict_from(v);
        if (!verdict) return fail("unknown verdict '" + v + "' (once, always, deny, deny-always)");
      } else if (key == "id") {
        return fail("id must be a number");
      }
    } else if ((s[i] >= '0' && s[i] <= '9') || s[i] == '-') {
      std::size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '-' ||
                              s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == '+'))
        ++j;
      std::string num(s.substr(i, j - i));
      i = j;
      if (key == "id") {
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(num.c_str(), &end, 10);
        if (num[0] == '-' || errno || *end) return fail("id must be a non-negative integer");
        id = v;
      }
    } else if (s.substr(i, 4) == "true" || s.substr(i, 4) == "null") {
      i += 4;
    } else if (s.substr(i, 5) == "false") {
      i += 5;
    } else {
      return fail("values must be strings, numbers, true, false or null");
    }
  }
  if (skip_ws(s, i)) return fail("trailing characters after the object");
  if (!id) return fail("missing \"id\"");
  if (!verdict) return fail("missing \"verdict\"");
  return AnswerLine{*id, *verdict};
}

std::optional<OverlayRule> rule_for(const decode::AskQuery& q) {
  using policy::Op;
  switch (q.op) {
    case Op::read:
    case Op::stat:
      if (q.path.empty()) return std::nullopt;
      return OverlayRule{"read", q.path};
    case Op::write:
      if (q.path.empty()) return std::nullopt;
      return OverlayRule{"write", q.path};
    case Op::exec:
      if (q.path.empty()) return std::nullopt;
      return OverlayRule{"exec", q.path};
    case Op::connect:
      if (q.addr.empty()) return std::nullopt;
      return OverlayRule{"connect", q.addr};
    case Op::bind:
      if (q.addr.empty()) return std::nullopt;
      return OverlayRule{"bind", q.addr};
    default:
      return std::nullopt;
  }
}

Overlay::Overlay(std::string path, std::string extends)
    : path_(std::move(path)), extends_(std::move(extends)) {}

Result<void> Overlay::load() {
  if (::access(path_.c_str(), F_OK) != 0) return outcome::success();
  try {
    YAML::Node root = YAML::LoadFile(path_);
    if (!root.IsMap()) return fail(path_ + ": not a profile (expected a mapping)");
    // An overlay extends what it was made for; keep its own `extends` (it may be reused).
    if (root["extends"] && root["extends"].IsSequence() && root["extends"].size() == 1)
      extends_ = root["extends"][0].as<std::string>();
    for (const char* sec : kSections) {
      std::string s(sec);
      auto slash = s.find('/');
      YAML::Node n = root[s.substr(0, slash)];
      if (!n || !n.IsMap()) continue;
      YAML::Node list = n[s.substr(slash + 1)];
      if (!list || !list.IsSequence()) continue;
      for (const auto& item : list) lists_[s].push_back(item.as<std::string>());
    }
  } catch (const YAML::Exception& e) {
    return fail(path_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return outcome::success();
}

namespace {
std::string section_for(const OverlayRule& r, bool deny) {
  if (r.kind == "read") return deny ? "files/deny" : "files/read";
  if (r.kind == "write") return deny ? "files/deny" : "files/write";
  if (r.kind == "exec") return deny ? "exec/deny" : "exec/allow";
  if (r.kind == "connect") return deny ? "network/deny" : "network/connect";
  if (r.kind == "bind") return deny ? "network/deny" : "network/bind";
  return {};
}
}  // namespace

bool Overlay::add_allow(const OverlayRule& r) {
  auto sec = section_for(r, false);
  if (sec.empty()) return false;
  auto& l = lists_[sec];
  for (auto& p : l)
    if (p == r.pattern) return false;
  l.push_back(r.pattern);
  return true;
}

bool Overlay::add_deny(const OverlayRule& r) {
  auto sec = section_for(r, true);
  if (sec.empty()) return false;
  auto& l = lists_[sec];
  for (auto& p : l)
    if (p == r.pattern) return false;
  l.push_back(r.pattern);
  return true;
}

std::string Overlay::text() const {
  std::string o =
      "# guardian ask overlay: rules answered \"always\" / \"deny always\" (guardian run --ask-save).\n"
      "# Use it as the profile of later runs: guardian run -p " + path_ + " -- ...\n"
      "version: 1\n"
      "name: ask-overlay\n"
      "extends: [" + json_quote(extends_) + "]\n";
  std::string current;
  for (const char* sec : kSections) {
    auto it = lists_.find(sec);
    if (it == lists_.end() || it->second.empty()) continue;
    std::string s(sec);
    auto slash = s.find('/');
    std::string top = s.substr(0, slash);
    if (top != current) {
      o += top + ":\n";
      current = top;
    }
    o += "  " + s.substr(slash + 1) + ":\n";
    for (auto& p : it->second) o += "    - " + json_quote(p) + "\n";
  }
  return o;
}

Result<void> Overlay::save() const {
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail_errno("cannot write the ask overlay '" + tmp + "'", errno);
  std::string t = text();
  bool ok = ::write(fd, t.data(), t.size()) == static_cast<ssize_t>(t.size());
  int e = errno;
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    e = ok ? errno : e;
    ::unlink(tmp.c_str());
    return fail_errno("cannot write the ask overlay '" + path_ + "'", e);
  }
  return outcome::success();
}

}  // namespace guardian::session
