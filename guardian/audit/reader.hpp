// Streaming readers for audit logs: lines across several files (rotated logs in order),
// each parsed by the flat-record parser of policy/json_record.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/json_record.hpp"

namespace guardian::audit {

// The record parser lives in guardian-policy (policy/json_record.hpp), shared with the
// generaliser of `guardian learn`; these names keep the reviewer tools' code unchanged.
using policy::json::Record;
using policy::json::Value;
using policy::json::decode_string;
using policy::json::parse_line;

// Where a line came from.
struct LineRef {
  const std::string* file = nullptr;
  std::uint64_t lineno = 0;  // 1-based within the file
  std::string_view text;     // without the newline
  bool terminated = true;    // false for a last line with no newline (cut short)
};

// Reads each file in turn, calling fn for every line; big buffered reads, no per-line
// allocation. Returns an error message (empty on success) for a file that cannot be read.
std::string for_each_line(const std::vector<std::string>& files,
                          const std::function<void(const LineRef&)>& fn);

// Parses each line as a record (the v1 object, or the v1 object inside an OCSF line's
// `unmapped`); malformed lines are reported on stderr as FILE:LINE and skipped.
// Returns false (after printing why) when a file cannot be read.
struct RecordStreamStats {
  std::uint64_t lines = 0, records = 0, malformed = 0;
};
bool for_each_record(const std::vector<std::string>& files,
                     const std::function<void(const LineRef&, const Record&)>& fn,
                     RecordStreamStats* stats = nullptr);

}  // namespace guardian::audit
