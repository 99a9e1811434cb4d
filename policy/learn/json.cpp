// A small recursive-descent JSON reader; errors carry the column so log messages can
// point at LOG:LINE:COL.
#include "policy/learn/json.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace guardian::policy::learn {

const Json* Json::get(std::string_view key) const {
  if (kind != Kind::object) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->second;
}

std::optional<std::string> Json::get_string(std::string_view key) const {
  const Json* v = get(key);
  if (v == nullptr || v->kind != Kind::string) return std::nullopt;
  return v->str;
}

std::optional<std::int64_t> Json::get_int(std::string_view key) const {
  const Json* v = get(key);
  if (v == nullptr || v->kind != Kind::number || !std::isfinite(v->num)) return std::nullopt;
  return static_cast<std::int64_t>(v->num);
}

namespace {

// Depth limit: a hostile log must not exhaust the stack.
constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  std::optional<Json> document(std::string& error) {
    Json v;
    if (!value(v, 0)) {
      error = msg_;
      return std::nullopt;
    }
    ws();
    if (i_ != t_.size()) {
      error = at("trailing characters after the JSON value");
      return std::nullopt;
    }
    return v;
  }

 private:
  std::string at(const char* what) const {
    return "column " + std::to_string(i_ + 1) + ": " + what;
  }
  bool fail(const char* what) {
    if (msg_.empty()) msg_ = at(what);
    return false;
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\r' || t_[i_] == '\n')) ++i_;
  }
  bool lit(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return fail("invalid literal");
    i_ += w.size();
    return true;
  }

  bool value(Json& v, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    ws();
    if (i_ >= t_.size()) return fail("unexpected end of line");
    char c = t_[i_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') {
      v.kind = Json::Kind::string;
      return string(v.str);
    }
    if (c == 't') { v.kind = Json::Kind::boolean; v.b = true; return lit("true"); }
    if (c == 'f') { v.kind = Json::Kind::boolean; v.b = false; return lit("false"); }
    if (c == 'n') { v.kind = Json::Kind::null; return lit("null"); }
    if (c == '-' || (c >= '0' && c <= '9')) return number(v);
    return fail("unexpected character");
  }

  bool number(Json& v) {
    std::size_t start = i_;
    if (t_[i_] == '-') ++i_;
    auto digits = [&] {
      std::size_t s = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      return i_ > s;
    };
    if (!digits()) return fail("invalid number");
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (!digits()) return fail("invalid number");
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (!digits()) return fail("invalid number");
    }
    std::string s(t_.substr(start, i_ - start));
    v.kind = Json::Kind::number;
    v.num = std::strtod(s.c_str(), nullptr);
    return true;
  }

  static void put_utf8(std::string& out, std::uint32_t cp) {
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

  bool hex4(std::uint32_t& cp) {
    if (i_ + 4 > t_.size()) return fail("short \\u escape");
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      char h = t_[i_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<std::uint32_t>(h - 'A' + 10);
      else return fail("bad \\u escape");
    }
    return true;
  }

  bool string(std::string& out) {
    ++i_;  // opening quote
    while (i_ < t_.size()) {
      char c = t_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= t_.size()) break;
      char e = t_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && t_.substr(i_, 2) == "\\u") {
            i_ += 2;
            std::uint32_t lo = 0;
            if (!hex4(lo)) return false;
            if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default: return fail("bad escape in string");
      }
    }
    return fail("unterminated string");
  }

  bool array(Json& v, int depth) {
    v.kind = Json::Kind::array;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == ']') { ++i_; return true; }
    for (;;) {
      Json e;
      if (!value(e, depth + 1)) return false;
      v.arr.push_back(std::move(e));
      ws();
      if (i_ >= t_.size()) return fail("unterminated array");
      if (t_[i_] == ',') { ++i_; continue; }
      if (t_[i_] == ']') { ++i_; return true; }
      return fail("expected ',' or ']'");
    }
  }

  bool object(Json& v, int depth) {
    v.kind = Json::Kind::object;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == '}') { ++i_; return true; }
    for (;;) {
      ws();
      if (i_ >= t_.size() || t_[i_] != '"') return fail("expected a member name");
      std::string key;
      if (!string(key)) return false;
      ws();
      if (i_ >= t_.size() || t_[i_] != ':') return fail("expected ':'");
      ++i_;
      Json e;
      if (!value(e, depth + 1)) return false;
      v.obj.insert_or_assign(std::move(key), std::move(e));
      ws();
      if (i_ >= t_.size()) return fail("unterminated object");
      if (t_[i_] == ',') { ++i_; continue; }
      if (t_[i_] == '}') { ++i_; return true; }
      return fail("expected ',' or '}'");
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
  std::string msg_;
};

}  // namespace

std::optional<Json> parse_json(std::string_view text, std::string& error) {
  return Parser(text).document(error);
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace guardian::policy::learn
