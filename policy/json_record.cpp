// The audit record reader shared by `guardian audit` and `guardian learn`: a validating
// scanner that keeps views into the line, and string decoding matching guardian's writer.
#include "policy/json_record.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace guardian::policy::json {
namespace {

void put_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_u4(std::string_view in, std::size_t i, std::uint32_t& v) {
  if (i + 4 > in.size()) return false;
  v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    int h = hexval(in[i + k]);
    if (h < 0) return false;
    v = v * 16 + static_cast<std::uint32_t>(h);
  }
  return true;
}

// A validating recursive-descent scanner over one JSON text.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  std::size_t pos = 0;
  const char* err = nullptr;

  void ws() {
    while (pos < s_.size() && (s_[pos] == ' ' || s_[pos] == '\t' || s_[pos] == '\r' || s_[pos] == '\n')) ++pos;
  }
  bool at_end() const { return pos >= s_.size(); }
  char peek() const { return pos < s_.size() ? s_[pos] : '\0'; }
  bool fail(const char* why) {
    if (!err) err = why;
    return false;
  }

  // String at pos (opening quote); sets inner text and whether it has escapes.
  bool string(std::string_view& inner, bool& escaped) {
    ++pos;
    std::size_t start = pos;
    escaped = false;
    const char* p = s_.data();
    std::size_t n = s_.size();
    while (pos < n) {
#if defined(__SSE2__)
      // Skip 16 ordinary bytes at a time: strings dominate audit records.
      const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
      while (pos + 16 <= n) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
        __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                       _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
        int mask = _mm_movemask_epi8(special);
        if (mask) {
          pos += static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
          break;
        }
        pos += 16;
      }
      if (pos >= n) break;
#endif
      auto c = static_cast<unsigned char>(p[pos]);
      if (c == '"') {
        inner = s_.substr(start, pos - start);
        ++pos;
        return true;
      }
      if (c == '\\') {
        escaped = true;
        if (pos + 1 >= n) break;
        char e = p[pos + 1];
        if (e == 'u') {
          if (pos + 6 > n) break;
          for (int k = 2; k < 6; ++k)
            if (!std::isxdigit(static_cast<unsigned char>(p[pos + k]))) return fail("bad \\u escape");
          pos += 6;
          continue;
        }
        if (!std::strchr("\"\\/bfnrt", e) || e == '\0') return fail("bad escape in string");
        pos += 2;
        continue;
      }
      if (c < 0x20) return fail("control character in string");
      ++pos;
    }
    return fail("unterminated string");
  }

  bool number() {
    std::size_t start = pos;
    if (peek() == '-') ++pos;
    if (!std::isdigit(static_cast<unsigned char>(peek()))) return fail("bad number");
    while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos;
    if (peek() == '.') {
      ++pos;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return fail("bad number");
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos;
      if (peek() == '+' || peek() == '-') ++pos;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return fail("bad number");
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos;
    }
    return pos > start;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos, word.size()) != word) return fail("bad literal");
    pos += word.size();
    return true;
  }

  // Any value; fills v (type and text).
  bool value(Value& v, int depth) {
    if (depth > 64) return fail("nested too deeply");
    ws();
    std::size_t start = pos;
    switch (peek()) {
      case '"': v.type = Value::Type::string; return string(v.text, v.escaped);
      case '{': v.type = Value::Type::object; if (!skip_object(depth)) return false; break;
      case '[': v.type = Value::Type::array; if (!skip_array(depth)) return false; break;
      case 't': v.type = Value::Type::boolean; if (!literal("true")) return false; break;
      case 'f': v.type = Value::Type::boolean; if (!literal("false")) return false; break;
      case 'n': v.type = Value::Type::null; if (!literal("null")) return false; break;
      case '\0': return fail("unexpected end of line");
      default: v.type = Value::Type::number; if (!number()) return false; break;
    }
    v.escaped = false;
    v.text = s_.substr(start, pos - start);
    return true;
  }

  bool skip_object(int depth) {
    ++pos;
    ws();
    if (peek() == '}') return ++pos, true;
    for (;;) {
      ws();
      if (peek() != '"') return fail("expected a key");
      std::string_view k;
      bool e;
      if (!string(k, e)) return false;
      ws();
      if (peek() != ':') return fail("expected ':'");
      ++pos;
      Value v;
      if (!value(v, depth + 1)) return false;
      ws();
      if (peek() == ',') { ++pos; continue; }
      if (peek() == '}') return ++pos, true;
      return fail(at_end() ? "unexpected end of line" : "expected ',' or '}'");
    }
  }

  bool skip_array(int depth) {
    ++pos;
    ws();
    if (peek() == ']') return ++pos, true;
    for (;;) {
      Value v;
      if (!value(v, depth + 1)) return false;
      ws();
      if (peek() == ',') { ++pos; continue; }
      if (peek() == ']') return ++pos, true;
      return fail(at_end() ? "unexpected end of line" : "expected ',' or ']'");
    }
  }

 private:
  std::string_view s_;
};

}  // namespace

bool unescape(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= in.size()) return false;
    switch (in[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        std::uint32_t cp;
        if (!read_u4(in, i + 1, cp)) return false;
        i += 4;
        if (cp >= 0x80 && cp <= 0xFF) {
          out += static_cast<char>(cp);  // a raw byte (see append_string)
        } else if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t lo;
          if (i + 2 >= in.size() || in[i + 1] != '\\' || in[i + 2] != 'u' || !read_u4(in, i + 3, lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return false;
          i += 6;
          put_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;
        } else {
          put_utf8(out, cp);
        }
        break;
      }
      default: return false;
    }
  }
  return true;
}

bool Record::parse(std::string_view text, std::string& err) {
  std::size_t column = 0;
  if (parse(text, err, column)) return true;
  err += " at column " + std::to_string(column);
  return false;
}

bool Record::parse(std::string_view text, std::string& reason, std::size_t& column) {
  fields_.clear();
  Scanner sc(text);
  sc.ws();
  if (sc.peek() != '{') {
    reason = sc.at_end() ? "empty line" : "not a JSON object";
    column = sc.pos + 1;
    return false;
  }
  ++sc.pos;
  sc.ws();
  bool ok = true;
  if (sc.peek() == '}') {
    ++sc.pos;
  } else {
    for (;;) {
      sc.ws();
      if (sc.peek() != '"') { ok = sc.fail("expected a key"); break; }
      std::string_view key;
      bool esc;
      if (!sc.string(key, esc)) { ok = false; break; }
      sc.ws();
      if (sc.peek() != ':') { ok = sc.fail("expected ':'"); break; }
      ++sc.pos;
      Value v;
      if (!sc.value(v, 1)) { ok = false; break; }
      fields_.emplace_back(key, v);
      sc.ws();
      if (sc.peek() == ',') { ++sc.pos; continue; }
      if (sc.peek() == '}') { ++sc.pos; break; }
      ok = sc.fail(sc.at_end() ? "unexpected end of line" : "expected ',' or '}'");
      break;
    }
  }
  if (ok) {
    sc.ws();
    if (!sc.at_end()) ok = sc.fail("text after the object");
  }
  if (!ok) {
    reason = sc.err ? sc.err : "malformed JSON";
    column = sc.pos + 1;
  }
  return ok;
}

const Value* Record::get(std::string_view key) const {
  for (const auto& [k, v] : fields_)
    if (k == key) return &v;
  return nullptr;
}

bool decode_string(const Value& v, std::string& out) {
  if (v.type != Value::Type::string) return false;
  if (!v.escaped) {
    out.assign(v.text);
    return true;
  }
  return unescape(v.text, out);
}

std::string_view Record::sv(std::string_view key, std::string& buf) const {
  const Value* v = get(key);
  if (!v || v->type != Value::Type::string) return {};
  if (!v->escaped) return v->text;
  if (!unescape(v->text, buf)) return {};
  return buf;
}

std::string Record::str(std::string_view key) const {
  std::string buf;
  return std::string(sv(key, buf));
}

std::optional<std::string> Record::opt_str(std::string_view key) const {
  const Value* v = get(key);
  std::string out;
  if (!v || !decode_string(*v, out)) return std::nullopt;
  return out;
}

std::optional<std::int64_t> Record::i64(std::string_view key) const {
  const Value* v = get(key);
  if (!v || v->type != Value::Type::number) return std::nullopt;
  std::int64_t x = 0;
  auto [p, ec] = std::from_chars(v->text.data(), v->text.data() + v->text.size(), x);
  if (ec != std::errc() || p != v->text.data() + v->text.size()) return std::nullopt;
  return x;
}

std::optional<double> Record::f64(std::string_view key) const {
  const Value* v = get(key);
  if (!v || v->type != Value::Type::number) return std::nullopt;
  return std::strtod(std::string(v->text).c_str(), nullptr);
}

std::vector<std::string> Record::str_array(std::string_view key) const {
  std::vector<std::string> out;
  const Value* v = get(key);
  if (!v || v->type != Value::Type::array) return out;
  Scanner sc(v->text);
  ++sc.pos;
  sc.ws();
  if (sc.peek() == ']') return out;
  for (;;) {
    Value e;
    if (!sc.value(e, 1)) return {};
    std::string s;
    if (e.type == Value::Type::string && decode_string(e, s)) out.push_back(std::move(s));
    sc.ws();
    if (sc.peek() == ',') { ++sc.pos; continue; }
    break;
  }
  return out;
}

bool unwrap_ocsf(Record& rec, std::string& err) {
  if (rec.get("v") || !rec.get("class_uid")) return true;
  const Value* u = rec.get("unmapped");
  if (!u || u->type != Value::Type::object) return true;
  std::string_view inner = u->text;  // a view into the line, not into rec
  return rec.parse(inner, err);
}

bool parse_line(std::string_view line, Record& rec, std::string& err) {
  if (!rec.parse(line, err) || !unwrap_ocsf(rec, err)) return false;
  if (rec.get("v")) return true;
  err = "not an audit record (no \"v\" field)";
  return false;
}

}  // namespace guardian::policy::json
