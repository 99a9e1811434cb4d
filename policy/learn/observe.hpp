// Observed operations, read from audit log records (spec §3): the input of the generaliser.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/request.hpp"

namespace guardian::policy::learn {

// One operation the command performed (or tried), as recorded in a `decision` record.
struct Observation {
  Category category = Category::file;
  Op op = Op::read;
  std::string path;  // file/exec: resolved absolute path
  std::string addr;  // network: "1.2.3.4:80", "[::1]:22", "unix:/p", "unix:@n"
  std::string host;  // network: host name, when the record knew it
  std::string exe;
  std::string syscall;
  std::int64_t pid = 0, tid = 0;
  std::uint64_t count = 1;  // identical operations folded into one observation
};

// What the log says about the session (from `session_start`).
struct SessionInfo {
  std::vector<std::string> argv;
  std::string cwd;
  std::string home;    // optional `home` field (extension), else empty
  std::string tmpdir;  // optional `tmpdir` field (extension), else empty
  std::string mode;
  std::string profile;
  bool seen = false;
};

struct AuditInput {
  SessionInfo session;
  std::vector<Observation> observations;  // duplicates folded, in first-seen order
  std::vector<std::int64_t> pids;          // every pid/tid seen (to recognise PIDs in names)
  std::uint64_t records = 0;               // decision records read
  std::vector<std::string> warnings;       // "LOG:LINE: message", not fatal
};

// Reads a JSON Lines audit log. A malformed line is an error "NAME:LINE:COL: message"
// (returned in `error`, result nullopt), except a final line without its newline, which a
// crash may have cut: that one is skipped with a warning.
std::optional<AuditInput> read_audit(std::istream& in, std::string_view name, std::string& error);

// Parses the category / op names of spec §3; nullopt for names this version does not know.
std::optional<Category> category_from(std::string_view s);
std::optional<Op> op_from(std::string_view s);

}  // namespace guardian::policy::learn
