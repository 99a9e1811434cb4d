// The ask protocol's data: JSON Lines messages of --ask-socket (documented in guardian(1),
// ASK PROTOCOL) and the profile overlay that "always" answers are saved to (--ask-save).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "decode/handler.hpp"

namespace guardian::session {

// A human's answer to one request.
enum class Verdict : std::uint8_t { once, always, deny, deny_always };
const char* to_string(Verdict v) noexcept;  // "once", "always", "deny", "deny-always"
std::optional<Verdict> verdict_from(std::string_view text);

// One question as sent to a client.
struct AskMessage {
  std::uint64_t id = 0;
  decode::AskQuery query;
  std::vector<std::string> argv;
  double timeout_s = 0;
};

// {"type":"request","id":..,"pid":..,...}\n
std::string encode_request(const AskMessage& m);
// {"type":"resolved","id":..,"verdict":"..","by":"socket"|"terminal"|"timeout"|"gone"}\n
std::string encode_resolved(std::uint64_t id, Verdict v, std::string_view by);
// {"type":"hello","protocol":1,"session_pid":..}\n
std::string encode_hello(int pid);
// {"type":"error","message":".."}\n
std::string encode_error(std::string_view message);

// A client's answer line: {"id": N, "verdict": "once"|"always"|"deny"|"deny-always"}.
struct AnswerLine {
  std::uint64_t id = 0;
  Verdict verdict = Verdict::deny;
};
// Parses one line; an error says what is wrong with it (sent back as an error message).
Result<AnswerLine> parse_answer(std::string_view line);

// JSON string literal with quotes ("a\"b").
std::string json_quote(std::string_view s);

// The profile rule kind an "always" answer adds for a request ("read", "write", "exec",
// "connect", "bind"), and its pattern; nullopt when the request has no profile rule form
// (then "always" acts as "once").
struct OverlayRule {
  std::string kind;
  std::string pattern;
};
std::optional<OverlayRule> rule_for(const decode::AskQuery& q);

// The overlay profile: `extends` the session's profile and adds the rules answered
// "always" / "deny always". Loads an existing overlay to add to it.
class Overlay {
 public:
  // `extends`: the original profile (a built-in name, or a path made absolute).
  Overlay(std::string path, std::string extends);
  // Reads an existing overlay file (keeps its extends and rules). Missing file: fine.
  Result<void> load();
  // Adds an allow rule (kind as in OverlayRule) or a deny rule; false if already there.
  bool add_allow(const OverlayRule& r);
  bool add_deny(const OverlayRule& r);
  // Writes the whole file atomically (temp file + rename).
  Result<void> save() const;
  std::string text() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_, extends_;
  // section -> key -> patterns, e.g. files/read, exec/allow, network/connect
  std::map<std::string, std::vector<std::string>> lists_;
};

}  // namespace guardian::session
