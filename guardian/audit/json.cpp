// JSON string escaping (byte-exact for non-UTF-8 input) and the object writer; the
// matching decoder is policy/json_record.cpp.
#include "audit/json.hpp"

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace guardian::audit::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void escape_byte(std::string& out, unsigned char c) {
  char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
  out.append(buf, 6);
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  std::size_t n = s.size() - i;
  auto cont = [&](std::size_t k) { return k < n && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void append_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t i = 0, run = 0;  // [run, i) is a stretch copied verbatim
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      std::size_t n = utf8_len(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: escape_byte(out, c); break;  // other controls, DEL, stray bytes >= 0x80
    }
    run = ++i;
  }
  out.append(s.data() + run, i - run);
  out += '"';
}

void ObjectWriter::key(std::string_view key) {
  if (!first_) out_ += ',';
  first_ = false;
  append_string(out_, key);
  out_ += ':';
}

void ObjectWriter::num(std::string_view key, std::int64_t value) {
  this->key(key);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, r.ptr);
}

void ObjectWriter::unum(std::string_view key, std::uint64_t value) {
  this->key(key);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, r.ptr);
}

void ObjectWriter::dbl(std::string_view key, double value) {
  this->key(key);
  if (!std::isfinite(value)) {
    out_ += "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%.6f", value);
  out_.append(buf, static_cast<std::size_t>(n));
}

void ObjectWriter::str_array(std::string_view key, const std::vector<std::string>& values) {
  this->key(key);
  out_ += '[';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out_ += ',';
    append_string(out_, values[i]);
  }
  out_ += ']';
}

}  // namespace guardian::audit::json
