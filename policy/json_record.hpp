// Reading audit log records (spec §3, JSON Lines): a fast parser for the flat JSON objects of
// format v1 and the string decoding that matches guardian's writer byte for byte. It lives in
// guardian-policy, the lowest library, because both `guardian audit` (guardian/audit) and the
// generaliser (policy/learn) read the same records and policy/ must not depend on guardian/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guardian::policy::json {

// Decodes the inside of a JSON string literal (without quotes) into out. \u0080..\u00ff
// become the raw byte (the writer, guardian/audit/json.hpp append_string, escapes each byte
// that is not valid UTF-8 that way, so arbitrary path bytes survive); other escapes become
// UTF-8; valid UTF-8 text is copied as it is. False if malformed.
bool unescape(std::string_view in, std::string& out);

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
  // returns false and sets err to a short reason ending in "at column N".
  bool parse(std::string_view text, std::string& err);
  // The same, with the reason and the 1-based column apart (for FILE:LINE:COL messages).
  bool parse(std::string_view text, std::string& reason, std::size_t& column);
  const Value* get(std::string_view key) const;
  // String field, decoded; empty if absent or not a string. `buf` holds decoded text
  // when escapes are present (the returned view may point into it).
  std::string_view sv(std::string_view key, std::string& buf) const;
  std::string str(std::string_view key) const;
  // String field, decoded; nullopt if absent, not a string or malformed.
  std::optional<std::string> opt_str(std::string_view key) const;
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

// An OCSF line (--audit-format ocsf) carries the v1 record in `unmapped`: when rec is one,
// re-parses it as that inner record. False with err when the inner record is malformed.
bool unwrap_ocsf(Record& rec, std::string& err);

// Parses a line as a record (the v1 object, or the v1 object inside an OCSF line's
// `unmapped`). False with err on malformed input or a line that is no audit record.
bool parse_line(std::string_view line, Record& rec, std::string& err);

}  // namespace guardian::policy::json
