// Path patterns of profile format v1: parsing, brace expansion, matching, and load-time
// resolution of a pattern's literal prefix.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardian::policy {

// A path component during matching: plain data, so arrays of it cost nothing to set up.
struct Piece {
  const char* data;
  std::size_t size;
  std::string_view view() const noexcept { return {data, size}; }
};

// One brace-free alternative of a path pattern, matched against absolute normalised paths.
//   *    any run of characters within one path component (not '/')
//   ?    exactly one character other than '/'
//   **   a whole component: any number of components (zero or more);
//        "DIR/**" matches DIR itself and everything below it; "/a/**/b" matches "/a/b"
//   \c   the character c literally
// Brace alternatives ({a,b}) are expanded by parse_pattern() before a Glob is built.
class Glob {
 public:
  // Builds a glob from one brace-free alternative; nullopt and `error` set when malformed.
  static std::optional<Glob> compile(std::string_view alternative, std::string* error);

  // True when `path` (absolute, normalised) matches. No allocation.
  bool match(std::string_view path) const noexcept;

  // True when the glob may match some path strictly below directory `dir` (used to allow
  // metadata access to ancestors of allowed paths). Conservative: may say yes for a
  // directory under which nothing can exist that matches, never no for one that can.
  bool may_match_below(std::string_view dir) const noexcept;

  // What is left of the pattern once the components of directory `dir` are consumed: one
  // residual pattern (escaped text, e.g. "**/.git/hooks/**" or "hooks/**") for each way
  // the pattern can have consumed them, appended to `out`. Whether the pattern matches
  // `dir` itself is not among them. Two directories with the same residuals are told apart
  // by no path below them: match(a + "/" + x) == match(b + "/" + x) for every x (used to
  // decide the rename of a directory, which moves every path below it). False when `dir`
  // has too many components to decide.
  bool residuals_below(std::string_view dir, std::vector<std::string>* out) const;

  // The longest literal directory prefix (unescaped, no trailing '/'; "" for "/" or a
  // pattern starting with "**"). For a fully literal glob: the whole path.
  const std::string& anchor() const noexcept { return anchor_; }
  bool literal() const noexcept { return kind_ == Kind::exact; }
  const std::string& text() const noexcept { return text_; }

 private:
  enum class Kind : unsigned char { exact, tree, generic };
  struct Comp {
    std::string pat;       // escapes kept unless literal
    bool globstar = false; // "**"
    bool literal = false;  // no wildcard: compared as a string
  };
  bool match_components(const Piece* comps, std::size_t n) const noexcept;
  bool segment_at(std::size_t k, std::size_t len, const Piece* p, std::size_t i) const noexcept;
  Kind kind_ = Kind::generic;
  std::string text_;    // the alternative, escapes kept
  std::string anchor_;  // see anchor()
  std::string lit_;     // exact: the path; tree: the directory ("" for "/**")
  std::string tail_;    // generic: the literal text after the last wildcard; a match ends with it
  std::vector<Comp> comps_;                  // generic: the components
  std::size_t first_gs_ = std::string::npos;  // generic: index of the first and last "**"
  std::size_t last_gs_ = std::string::npos;
};

// Expands braces ({a,b}, nested allowed) and checks every alternative. On error returns
// an empty vector and sets `error` (a message without location).
std::vector<Glob> parse_pattern(std::string_view pattern, std::string* error);

// Expands only the braces of `pattern` into its alternatives (escapes kept). Returns false
// with `error` set on unbalanced braces or too many alternatives.
bool expand_braces(std::string_view pattern, std::vector<std::string>* out, std::string* error);

// True when the pattern contains no unescaped *, ?, { or }.
bool is_literal_pattern(std::string_view pattern) noexcept;

// Lexically normalises an absolute path: folds "//", "/./" and "/../", drops a trailing '/'.
// Returns false when `in` is not absolute or longer than `cap - 1`. Writes into `buf`.
bool normalize_path(std::string_view in, char* buf, std::size_t cap, std::string_view* out) noexcept;
std::string normalize_path(std::string_view in);  // "" when not absolute

// True when a ".." would fold away a component holding a wildcard ("/a/*/../b",
// "/a/*/b/../../c"): normalising it would change what the pattern means.
bool dotdot_after_wildcard(std::string_view pattern) noexcept;

// True when `in` is already absolute and normalised (fast check before normalize_path).
bool is_normalized_path(std::string_view in) noexcept;

// Resolves the longest existing literal prefix of an absolute pattern through the file
// system (lstat + realpath) and returns the pattern with that prefix replaced; the part
// from the first wildcard on is kept as written. /proc and /dev/fd prefixes are never
// resolved: they name the calling process and would bind the rule to guardian itself.
// Also used by `profile explain` to resolve a query path as far as it exists.
std::string resolve_pattern_prefix(std::string_view pattern);
// The same with realpath(3) answered by `realpath` (nullopt: it fails); FsFacts offers one
// that a whole profile's rules share (resolve_pattern_prefix in fs_facts.hpp).
std::string resolve_pattern_prefix_with(
    std::string_view pattern, const std::function<std::optional<std::string>(const std::string&)>& realpath);

// Shell-style match of a name (no path semantics): '*' any run, '?' one character.
// Used for environment variable names.
bool wildcard_match(std::string_view pattern, std::string_view name, bool ignore_case = false) noexcept;

}  // namespace guardian::policy
