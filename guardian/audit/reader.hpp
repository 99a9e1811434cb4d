// Streaming readers for audit logs: lines across several files (rotated logs in order),
// and a fast parser for the flat JSON objects of format v1 (nested values kept as text).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardian::audit {

// One top-level value of a record. Strings keep their inner text (still escaped when
// `escaped`); every other type keeps its exact JSON text, so nested objects and arrays
// can be parsed again on demand.
struct Value {
  enum class Type : std::uint8_t { string, number, object, array, boolean, null };
  Type type = Type::null;
  bool escaped = false;
  std::string_view text;
};

// A parsed record: views into the line, valid while the line is.
class Record {
 public:
  // Parses a JSON object (the whole of `text`, surrounding blanks allowed). On failure
  // returns false and sets err to a short reason.
  bool parse(std::string_view text, std::string& err);
  const Value* get(std::string_view key) const;
  // String field, decoded; empty if absent or not a string. `buf` holds decoded text
  // when escapes are present (the returned view may point into it).
  std::string_view sv(std::string_view key, std::string& buf) const;
  std::string str(std::string_view key) const;
  // Integer field (number without fraction); nullopt if absent or not an integer.
  std::optional<std::int64_t> i64(std::string_view key) const;
  std::optional<double> f64(std::string_view key) const;
  // Array of strings (e.g. argv), decoded; empty if absent or malformed.
  std::vector<std::string> str_array(std::string_view key) const;
  const std::vector<std::pair<std::string_view, Value>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string_view, Value>> fields_;
};

// Decodes a string Value (handles escapes); false if not a string or malformed.
bool decode_string(const Value& v, std::string& out);

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

// Parses a line as a record, unwrapping OCSF. False with err on malformed input.
bool parse_line(std::string_view line, Record& rec, std::string& err);

}  // namespace guardian::audit
