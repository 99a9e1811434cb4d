// A small JSON reader for audit log lines (spec §3): enough for objects, arrays, strings,
// numbers, booleans and null. No dependency: Debian 12's Boost (1.74) has no Boost.JSON.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardian::policy::learn {

// One parsed JSON value. Objects keep their keys sorted (records are small).
struct Json {
  enum class Kind : std::uint8_t { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::map<std::string, Json, std::less<>> obj;

  // The member `key` of an object, or nullptr (also when this is not an object).
  const Json* get(std::string_view key) const;
  // The member as a string, or nullopt when absent or not a string.
  std::optional<std::string> get_string(std::string_view key) const;
  // The member as an integer, or nullopt when absent or not a number.
  std::optional<std::int64_t> get_int(std::string_view key) const;
};

// Parses one complete JSON text. On failure returns nullopt and sets `error` to a message
// naming the column (1-based) where parsing stopped.
std::optional<Json> parse_json(std::string_view text, std::string& error);

// Appends `s` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace guardian::policy::learn
