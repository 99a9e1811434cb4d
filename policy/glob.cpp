// Path patterns: brace expansion, a small backtracking matcher (no regex, no allocation per
// match), lexical path normalisation and load-time resolution of literal prefixes.
#include "policy/glob.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace guardian::policy {

namespace {

constexpr std::size_t kMaxAlternatives = 256;

bool is_meta(char c) { return c == '*' || c == '?' || c == '{' || c == '}'; }

constexpr std::size_t kMaxComponents = 2100;  // a 4095-byte normalised path has at most 2048

// One component pattern (*, ?, \\c) against one component: greedy with a single backtrack
// point, O(len(p) * len(s)) at worst, never exponential.
bool comp_match(std::string_view p, std::string_view s) noexcept {
  std::size_t i = 0, j = 0, star_p = std::string_view::npos, star_s = 0;
  while (j < s.size()) {
    if (i < p.size() && p[i] == '*') {
      star_p = ++i;
      star_s = j;
      continue;
    }
    if (i < p.size()) {
      char c = p[i];
      std::size_t w = 1;
      if (c == '\\' && i + 1 < p.size()) {
        c = p[i + 1];
        w = 2;
      } else if (c == '?') {
        ++i;
        ++j;
        continue;
      }
      if (c == s[j]) {
        i += w;
        ++j;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    i = star_p;
    j = ++star_s;
  }
  while (i < p.size() && p[i] == '*') ++i;
  return i == p.size();
}

// Splits a normalised absolute path into its components; more than kMaxComponents: too many.
std::size_t split(std::string_view path, Piece* out) noexcept {
  std::size_t n = 0, i = 1;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) {
      if (n == kMaxComponents) return kMaxComponents + 1;
      out[n++] = Piece{path.data() + i, j - i};
    }
    i = j + 1;
  }
  return n;
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  return out;
}

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_meta(c) || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Index of the first unescaped meta character (or size()).
std::size_t first_meta(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (is_meta(s[i])) return i;
  }
  return s.size();
}

bool expand_rec(std::string_view pat, std::vector<std::string>* out, std::string* error) {
  // Find the first unescaped '{' and its matching '}'.
  std::size_t open = std::string_view::npos;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == '\\') {
      ++i;
      continue;
    }
    if (pat[i] == '{') {
      open = i;
      break;
    }
    if (pat[i] == '}') {
      *error = "unbalanced '}'";
      return false;
    }
  }
  if (open == std::string_view::npos) {
    if (out->size() >= kMaxAlternatives) {
      *error = "too many brace alternatives (more than 256)";
      return false;
    }
    out->emplace_back(pat);
    return true;
  }
  int depth = 0;
  std::vector<std::string_view> options;
  std::size_t start = open + 1, close = std::string_view::npos;
  for (std::size_t i = open; i < pat.size(); ++i) {
    char c = pat[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) {
        options.push_back(pat.substr(start, i - start));
        close = i;
        break;
      }
    } else if (c == ',' && depth == 1) {
      options.push_back(pat.substr(start, i - start));
      start = i + 1;
    }
  }
  if (close == std::string_view::npos) {
    *error = "unbalanced '{'";
    return false;
  }
  std::string_view head = pat.substr(0, open), tail = pat.substr(close + 1);
  for (std::string_view o : options) {
    std::string next;
    next.reserve(head.size() + o.size() + tail.size());
    next.append(head).append(o).append(tail);
    if (!expand_rec(next, out, error)) return false;
  }
  return true;
}

}  // namespace

std::optional<Glob> Glob::compile(std::string_view alt, std::string* error) {
  Glob g;
  if (alt.empty()) {
    *error = "empty pattern";
    return std::nullopt;
  }
  // A leading "**" means "anywhere": paths are absolute, so it is "/**".
  if (alt.substr(0, 2) == "**") {
    g.text_ = "/";
  }
  g.text_.append(alt);
  const std::string& t = g.text_;
  if (t[0] != '/') {
    *error = "pattern is not an absolute path";
    return std::nullopt;
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\0') {
      *error = "pattern contains a NUL character";
      return std::nullopt;
    }
    if (c == '\\') {
      if (i + 1 == t.size()) {
        *error = "pattern ends with a lone '\\'";
        return std::nullopt;
      }
      ++i;
      continue;
    }
    if (c == '{' || c == '}') {
      *error = c == '{' ? "unbalanced '{'" : "unbalanced '}'";
      return std::nullopt;
    }
    if (c == '*' && i + 1 < t.size() && t[i + 1] == '*') {
      bool starts = t[i - 1] == '/';
      bool ends = i + 2 == t.size() || t[i + 2] == '/';
      if (!starts || !ends) {
        *error = "'**' must be a whole path component";
        return std::nullopt;
      }
      ++i;
    }
  }
  std::size_t m = first_meta(t);
  if (m == t.size()) {
    g.kind_ = Kind::exact;
    g.lit_ = unescape(t);
    g.anchor_ = g.lit_ == "/" ? std::string() : g.lit_;
    return g;
  }
  std::size_t slash = t.rfind('/', m);
  g.anchor_ = unescape(std::string_view(t).substr(0, slash));
  if (m + 2 == t.size() && t.compare(m, 2, "**") == 0) {
    g.kind_ = Kind::tree;
    g.lit_ = g.anchor_;
  } else {
    g.kind_ = Kind::generic;
    std::size_t i = 1;
    while (i <= t.size()) {
      std::size_t j = i;
      while (j < t.size() && t[j] != '/') j += t[j] == '\\' ? 2 : 1;
      std::string_view c = std::string_view(t).substr(i, j - i);
      if (!c.empty()) {
        Comp comp;
        comp.globstar = c == "**";
        comp.literal = first_meta(c) == c.size();
        comp.pat = comp.literal ? unescape(c) : std::string(c);
        if (comp.globstar) {
          if (g.first_gs_ == std::string::npos) g.first_gs_ = g.comps_.size();
          g.last_gs_ = g.comps_.size();
        }
        g.comps_.push_back(std::move(comp));
      }
      i = j + 1;
    }
    // The literal tail lets match() reject most paths with one comparison ("**/*.pem").
    std::size_t last = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
        continue;
      }
      if (t[i] == '*' || t[i] == '?') last = i + 1;
    }
    g.tail_ = unescape(std::string_view(t).substr(last));
  }
  return g;
}

bool Glob::match(std::string_view path) const noexcept {
  switch (kind_) {
    case Kind::exact:
      return path == lit_;
    case Kind::tree:
      if (path.size() < lit_.size() || path.compare(0, lit_.size(), lit_) != 0) return false;
      return path.size() == lit_.size() ? !lit_.empty() || path == "/"
                                        : path[lit_.size()] == '/' || lit_.empty();
    case Kind::generic:
      break;
  }
  if (path.size() < tail_.size() || path.compare(path.size() - tail_.size(), tail_.size(), tail_) != 0) return false;
  Piece comps[kMaxComponents + 1];  // POD: not initialised, no cost
  std::size_t n = split(path, comps);
  if (n > kMaxComponents) return false;
  return match_components(comps, n);
}

bool Glob::segment_at(std::size_t k, std::size_t len, const Piece* p, std::size_t i) const noexcept {
  for (std::size_t j = 0; j < len; ++j) {
    const Comp& c = comps_[k + j];
    if (c.literal ? c.pat != p[i + j].view() : !comp_match(c.pat, p[i + j].view())) return false;
  }
  return true;
}

// Components split by "**" into segments: the first must match at the start, the last at
// the end, the middle ones leftmost in order (each "**" absorbs what lies between). Linear
// in the path for each segment: no backtracking across "**".
bool Glob::match_components(const Piece* p, std::size_t n) const noexcept {
  std::size_t t = comps_.size();
  if (first_gs_ == std::string::npos) return n == t && segment_at(0, t, p, 0);
  std::size_t a = first_gs_, b = t - last_gs_ - 1;
  if (n < a + b || !segment_at(0, a, p, 0) || !segment_at(last_gs_ + 1, b, p, n - b)) return false;
  std::size_t pos = a, end = n - b, k = first_gs_ + 1;
  while (k <= last_gs_) {
    std::size_t e = k;
    while (!comps_[e].globstar) ++e;
    std::size_t len = e - k;
    if (len > 0) {
      bool found = false;
      for (std::size_t i = pos; i + len <= end; ++i) {
        if (segment_at(k, len, p, i)) {
          pos = i + len;
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
    k = e + 1;
  }
  return true;
}

bool Glob::may_match_below(std::string_view dir) const noexcept {
  if (kind_ == Kind::exact) {
    return lit_.size() > dir.size() + (dir == "/" ? 0 : 1) && lit_.compare(0, dir.size(), dir) == 0 &&
           (dir == "/" || lit_[dir.size()] == '/');
  }
  if (kind_ == Kind::tree) {
    // Below DIR/** lies everything under DIR; dir must be DIR, below it, or above it.
    if (dir.size() <= lit_.size())
      return (lit_.compare(0, dir.size(), dir) == 0 && (dir == "/" || dir.size() == lit_.size() || lit_[dir.size()] == '/'));
    return lit_.empty() || (dir.compare(0, lit_.size(), lit_) == 0 && dir[lit_.size()] == '/');
  }
  Piece comps[kMaxComponents + 1];  // POD: not initialised, no cost
  std::size_t n = split(dir, comps);
  if (n > kMaxComponents) return false;
  std::size_t t = comps_.size();
  if (first_gs_ == std::string::npos) return n < t && segment_at(0, n, comps, 0);
  return segment_at(0, n < first_gs_ ? n : first_gs_, comps, 0);  // "**" absorbs the rest
}

bool Glob::residuals_below(std::string_view dir, std::vector<std::string>* out) const {
  // The pattern as components: generic keeps its own; exact and tree spell out lit_.
  std::vector<Comp> spelt;
  if (kind_ != Kind::generic) {
    for (std::size_t i = 1; i < lit_.size();) {
      std::size_t j = lit_.find('/', i);
      if (j == std::string::npos) j = lit_.size();
      if (j > i) spelt.push_back(Comp{lit_.substr(i, j - i), false, true});
      i = j + 1;
    }
    if (kind_ == Kind::tree) spelt.push_back(Comp{"**", true, false});
  }
  const std::vector<Comp>& comps = kind_ == Kind::generic ? comps_ : spelt;
  const std::size_t t = comps.size();
  // A set of positions (the next component to match), closed under skipping a "**".
  std::vector<char> cur(t + 1, 0), next(t + 1, 0);
  auto close = [&](std::vector<char>& s) {
    for (std::size_t i = 0; i < t; ++i)
      if (s[i] && comps[i].globstar) s[i + 1] = 1;
  };
  cur[0] = 1;
  close(cur);
  std::size_t i = 1, seen = 0;
  while (i < dir.size()) {
    std::size_t j = dir.find('/', i);
    if (j == std::string_view::npos) j = dir.size();
    std::string_view comp = dir.substr(i, j - i);
    i = j + 1;
    if (comp.empty()) continue;
    if (++seen > kMaxComponents) return false;
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (std::size_t k = 0; k < t; ++k) {
      if (!cur[k]) continue;
      const Comp& c = comps[k];
      if (c.globstar) next[k] = 1, any = true;
      else if (c.literal ? c.pat == comp : comp_match(c.pat, comp)) next[k + 1] = 1, any = true;
    }
    if (!any) return true;  // nothing below `dir` can match
    close(next);
    cur.swap(next);
  }
  for (std::size_t k = 0; k < t; ++k) {
    if (!cur[k]) continue;
    std::string r;
    for (std::size_t m = k; m < t; ++m) {
      if (m > k) r.push_back('/');
      r += comps[m].literal ? escape(comps[m].pat) : comps[m].pat;
    }
    out->push_back(std::move(r));
  }
  return true;
}

bool expand_braces(std::string_view pattern, std::vector<std::string>* out, std::string* error) {
  out->clear();
  return expand_rec(pattern, out, error);
}

std::vector<Glob> parse_pattern(std::string_view pattern, std::string* error) {
  std::vector<std::string> alts;
  if (!expand_braces(pattern, &alts, error)) return {};
  std::vector<Glob> out;
  out.reserve(alts.size());
  for (const std::string& a : alts) {
    auto g = Glob::compile(a, error);
    if (!g) return {};
    out.push_back(std::move(*g));
  }
  return out;
}

bool is_literal_pattern(std::string_view pattern) noexcept {
  return first_meta(pattern) == pattern.size();
}

bool normalize_path(std::string_view in, char* buf, std::size_t cap, std::string_view* out) noexcept {
  if (in.empty() || in[0] != '/' || cap < 2) return false;
  std::size_t n = 0;
  buf[n++] = '/';
  std::size_t i = 0;
  while (i < in.size()) {
    while (i < in.size() && in[i] == '/') ++i;
    std::size_t j = i;
    while (j < in.size() && in[j] != '/') ++j;
    std::string_view comp = in.substr(i, j - i);
    i = j;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      while (n > 1 && buf[n - 1] != '/') --n;
      if (n > 1) --n;
      continue;
    }
    std::size_t need = comp.size() + (n > 1 ? 1 : 0);
    if (n + need >= cap) return false;
    if (n > 1) buf[n++] = '/';
    std::memcpy(buf + n, comp.data(), comp.size());
    n += comp.size();
  }
  buf[n] = '\0';
  *out = std::string_view(buf, n);
  return true;
}

std::string normalize_path(std::string_view in) {
  std::string buf(in.size() + 2, '\0');
  std::string_view out;
  if (!normalize_path(in, buf.data(), buf.size(), &out)) return {};
  return std::string(out);
}

bool is_normalized_path(std::string_view in) noexcept {
  if (in.empty() || in[0] != '/') return false;
  if (in.size() == 1) return true;
  if (in.back() == '/') return false;
  std::size_t i = 0;
  while (i < in.size()) {
    // in[i] == '/'
    std::size_t j = i + 1;
    while (j < in.size() && in[j] != '/') ++j;
    std::string_view comp = in.substr(i + 1, j - i - 1);
    if (comp.empty() || comp == "." || comp == "..") return false;
    i = j;
  }
  return true;
}

std::string resolve_pattern_prefix(std::string_view pattern) {
  return resolve_pattern_prefix_with(pattern, [](const std::string& p) {
    std::optional<std::string> out;
    if (char* r = ::realpath(p.c_str(), nullptr)) {
      out.emplace(r);
      std::free(r);
    }
    return out;
  });
}

std::string resolve_pattern_prefix_with(
    std::string_view pattern, const std::function<std::optional<std::string>(const std::string&)>& realpath) {
  if (pattern.empty() || pattern[0] != '/') return std::string(pattern);
  std::size_t m = first_meta(pattern);
  // The literal part that names existing objects: whole pattern when literal, else the
  // directory before the first wildcard.
  std::size_t lit_end = m == pattern.size() ? m : pattern.rfind('/', m);
  if (lit_end == 0 || lit_end == std::string_view::npos) return std::string(pattern);
  std::string lit = unescape(pattern.substr(0, lit_end));
  auto is_proc = [](std::string_view p) {
    return p == "/proc" || p.substr(0, 6) == "/proc/" || p == "/dev/fd" || p.substr(0, 8) == "/dev/fd/" ||
           p.substr(0, 8) == "/dev/std";
  };
  if (is_proc(lit)) return std::string(pattern);
  // Longest existing prefix, component by component from the full literal down.
  std::string probe = lit;
  while (probe.size() > 1) {
    std::optional<std::string> real = realpath(probe);
    if (real) {
      const std::string& r = *real;
      if (is_proc(r)) return std::string(pattern);
      std::string out = escape(r);
      std::string_view rest = std::string_view(lit).substr(probe.size());
      if (out == "/" && !rest.empty()) out.clear();
      out.append(escape(rest));
      if (out.empty()) out = "/";
      std::string_view tail = pattern.substr(lit_end);
      if (out == "/" && !tail.empty() && tail[0] == '/') out.clear();
      out.append(tail);
      return out;
    }
    std::size_t s = probe.rfind('/');
    if (s == 0 || s == std::string::npos) break;
    probe.resize(s);
  }
  return std::string(pattern);
}

bool wildcard_match(std::string_view pat, std::string_view s, bool ignore_case) noexcept {
  auto eq = [ignore_case](char a, char b) {
    if (ignore_case)
      return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
    return a == b;
  };
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || (pat[p] != '*' && eq(pat[p], s[i])))) {
      ++p;
      ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool dotdot_after_wildcard(std::string_view p) noexcept {
  // A stack of whether each kept component holds a wildcard (bit per level; deeper than 64
  // levels only the lowest 64 are tracked, enough for the PATH_MAX of any real pattern).
  std::uint64_t wild = 0;
  int depth = 0;
  std::size_t i = 0;
  while (i <= p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (depth > 0) {
        --depth;
        if (depth < 64 && (wild >> depth) & 1) return true;
      }
      continue;
    }
    if (depth < 64) {
      std::uint64_t bit = std::uint64_t{1} << depth;
      wild = c.find_first_of("*?{}") != std::string_view::npos ? (wild | bit) : (wild & ~bit);
    }
    ++depth;
  }
  return false;
}

}  // namespace guardian::policy
