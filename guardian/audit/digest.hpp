// One streaming pass over audit logs that condenses each session into what the reviewer
// tools show (summary, tree, report): header, counts, denial groups, processes, timeline.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audit/reader.hpp"

namespace guardian::audit {

// Index of a decision value in count arrays: allow, deny, would-deny, kill (-1: other).
int verdict_index(std::string_view decision);
inline constexpr std::array<const char*, 4> kVerdictNames = {"allow", "deny", "would-deny", "kill"};

struct ProcInfo {
  std::int64_t pid = 0, ppid = 0;
  std::string exe;
  std::vector<std::string> argv;    // of the last exec
  std::vector<std::string> images;  // earlier programs this pid ran, oldest first
  std::optional<std::int64_t> status;
  std::array<std::uint64_t, 4> counts{};
};

struct DenialGroup {
  std::string category, op, target, rule, decision, first_ts, tip, exe, errno_name;
  std::uint64_t count = 0;
  std::vector<std::int64_t> pids;  // first few
};

struct CatOp {
  std::string category, op;
  std::array<std::uint64_t, 4> counts{};
};

struct SessionDigest {
  std::string id;
  std::vector<std::string> argv;
  std::string cwd, profile, profile_sha256, mode, backend, version, first_ts, last_ts;
  std::optional<std::int64_t> exit_status, signal, uid;
  std::optional<double> duration_s;
  bool has_start = false, has_end = false;
  std::uint64_t records = 0;
  std::array<std::uint64_t, 4> counts{};
  std::vector<CatOp> catops;
  std::vector<DenialGroup> denials;
  std::unordered_map<std::string, std::size_t> denial_index;
  std::map<std::int64_t, ProcInfo> procs;
  std::vector<std::pair<std::string, std::string>> limits;  // which, value
  // report only: (ns since the epoch, verdict index) of each decision
  std::vector<std::pair<std::int64_t, int>> timeline;
};

// Reads the files (malformed lines are reported and skipped); false if a file cannot be read.
bool digest_logs(const std::vector<std::string>& files, std::vector<SessionDigest>& out, bool with_timeline,
                 RecordStreamStats* stats = nullptr);

// RFC 3339 timestamp to nanoseconds since the epoch (UTC, with an offset if present).
std::optional<std::int64_t> parse_ts(std::string_view ts);

// argv as a shell would read it back: words with special characters single-quoted.
std::string shell_join(const std::vector<std::string>& argv);

// "FILE:LINE pattern" of a decision's rule object text, or "(no rule: default deny)".
std::string rule_text(const Record& rec);

// Text with control characters and non-UTF-8 bytes shown as escapes (for terminals).
std::string printable(std::string_view s);

}  // namespace guardian::audit
