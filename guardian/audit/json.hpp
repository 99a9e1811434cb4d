// Minimal JSON text helpers for audit records: a byte-exact string escaper and an object
// writer that appends to a std::string (no allocation beyond the output buffer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/json_record.hpp"

namespace guardian::audit::json {

// Appends `s` as a JSON string literal (with quotes). Valid UTF-8 passes through; control
// characters, '"', '\\' and DEL are escaped; each byte that is not part of valid UTF-8 is
// written as \u0080..\u00ff carrying the byte's value, so arbitrary path bytes survive a
// round trip through guardian's readers (unescape() turns them back into the same bytes).
void append_string(std::string& out, std::string_view s);

// The decoder matching append_string (\u0080..\u00ff back to the raw byte) lives with the
// record reader in guardian-policy, which `guardian learn` shares.
using policy::json::unescape;

// Writes one JSON object field by field; commas and quoting handled here.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  void str(std::string_view key, std::string_view value) {
    this->key(key);
    append_string(out_, value);
  }
  void num(std::string_view key, std::int64_t value);
  void unum(std::string_view key, std::uint64_t value);
  void dbl(std::string_view key, double value);  // fixed, 6 decimals
  void boolean(std::string_view key, bool value) {
    this->key(key);
    out_ += value ? "true" : "false";
  }
  void null(std::string_view key) {
    this->key(key);
    out_ += "null";
  }
  void str_array(std::string_view key, const std::vector<std::string>& values);
  // Inserts already-valid JSON text as the value.
  void raw(std::string_view key, std::string_view json_text) {
    this->key(key);
    out_ += json_text;
  }
  // Starts a nested object value; close it with end() on the nested writer's output.
  void key(std::string_view key);
  // Closes the object.
  void end() { out_ += '}'; }
  std::string& out() { return out_; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace guardian::audit::json
