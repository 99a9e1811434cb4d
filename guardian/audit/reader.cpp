// Streaming line reader and flat-record JSON parser for `guardian audit`.
#include "audit/reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "audit/json.hpp"

namespace guardian::audit {
namespace {

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

bool Record::parse(std::string_view text, std::string& err) {
  fields_.clear();
  Scanner sc(text);
  sc.ws();
  if (sc.peek() != '{') {
    err = sc.at_end() ? "empty line" : "not a JSON object";
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
    err = sc.err ? sc.err : "malformed JSON";
    err += " at column " + std::to_string(sc.pos + 1);
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
  return json::unescape(v.text, out);
}

std::string_view Record::sv(std::string_view key, std::string& buf) const {
  const Value* v = get(key);
  if (!v || v->type != Value::Type::string) return {};
  if (!v->escaped) return v->text;
  if (!json::unescape(v->text, buf)) return {};
  return buf;
}

std::string Record::str(std::string_view key) const {
  std::string buf;
  return std::string(sv(key, buf));
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

std::string for_each_line(const std::vector<std::string>& files,
                          const std::function<void(const LineRef&)>& fn) {
  constexpr std::size_t kChunk = 1 << 20;
  std::string buf;
  for (const std::string& file : files) {
    int fd = file == "-" ? dup(0) : open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "cannot read audit log '" + file + "': " + std::strerror(errno);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf.clear();
    std::size_t start = 0;  // first byte of the current (incomplete) line
    std::uint64_t lineno = 0;
    LineRef ref;
    ref.file = &file;
    for (;;) {
      // Keep the incomplete tail, then read the next chunk after it.
      if (start > 0) {
        buf.erase(0, start);
        start = 0;
      }
      std::size_t old = buf.size();
      buf.resize(old + kChunk);
      ssize_t n = read(fd, buf.data() + old, kChunk);
      if (n < 0) {
        if (errno == EINTR) { buf.resize(old); continue; }
        int e = errno;
        close(fd);
        return "cannot read audit log '" + file + "': " + std::strerror(e);
      }
      buf.resize(old + static_cast<std::size_t>(n));
      if (n == 0) {
        if (start < buf.size()) {
          ref.lineno = ++lineno;
          ref.text = std::string_view(buf).substr(start);
          ref.terminated = false;
          fn(ref);
        }
        break;
      }
      const char* base = buf.data();
      std::size_t scan = old;
      for (;;) {
        const void* nl = std::memchr(base + scan, '\n', buf.size() - scan);
        if (!nl) break;
        std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
        ref.lineno = ++lineno;
        ref.text = std::string_view(base + start, end - start);
        ref.terminated = true;
        fn(ref);
        start = scan = end + 1;
      }
    }
    close(fd);
  }
  return {};
}

bool parse_line(std::string_view line, Record& rec, std::string& err) {
  if (!rec.parse(line, err)) return false;
  if (rec.get("v")) return true;
  // An OCSF line (--audit-format ocsf) carries the v1 record in `unmapped`.
  const Value* u = rec.get("unmapped");
  if (u && u->type == Value::Type::object && rec.get("class_uid")) {
    std::string_view inner = u->text;
    if (!rec.parse(inner, err)) return false;
    if (rec.get("v")) return true;
  }
  err = "not an audit record (no \"v\" field)";
  return false;
}

bool for_each_record(const std::vector<std::string>& files,
                     const std::function<void(const LineRef&, const Record&)>& fn,
                     RecordStreamStats* stats) {
  RecordStreamStats local;
  RecordStreamStats& st = stats ? *stats : local;
  Record rec;
  std::string err;
  std::string problem = for_each_line(files, [&](const LineRef& line) {
    ++st.lines;
    if (!parse_line(line.text, rec, err)) {
      if (++st.malformed <= 20)
        std::fprintf(stderr, "guardian: %s:%llu: malformed record skipped: %s\n", line.file->c_str(),
                     static_cast<unsigned long long>(line.lineno), err.c_str());
      else if (st.malformed == 21)
        std::fputs("guardian: further malformed records are not listed\n", stderr);
      return;
    }
    ++st.records;
    fn(line, rec);
  });
  if (!problem.empty()) {
    std::fprintf(stderr, "guardian: %s\n", problem.c_str());
    return false;
  }
  if (st.malformed > 20)
    std::fprintf(stderr, "guardian: %llu malformed records skipped in all\n",
                 static_cast<unsigned long long>(st.malformed));
  return true;
}

}  // namespace guardian::audit
