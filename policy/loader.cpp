// YAML -> Profile: reads files and built-ins, follows `extends`, validates every key and value,
// and turns every problem (including yaml-cpp exceptions) into a FILE:LINE:COL: message.
#include "policy/loader.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "policy/address.hpp"
#include "policy/glob.hpp"
#include "policy/loader_impl.hpp"
#include "policy/values.hpp"

namespace guardian::policy {

namespace {
// One line whatever the input held: a NUL or newline quoted from a malformed file (yaml-cpp
// repeats the offending character) would cut or split the message.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (u >= 0x20 && u != 0x7f) {
      out += ch;
      continue;
    }
    static const char hex[] = "0123456789abcdef";
    out += "\\x";
    out += hex[u >> 4];
    out += hex[u & 15];
  }
  return out;
}
}  // namespace

std::string LoadError::str() const {
  // Without a position the message names the file itself (design: `guardian: cannot read
  // profile 'x.yaml': ...`); with one it is the FILE:LINE:COL: form of spec §1.
  if (line <= 0) return "guardian: " + one_line(message);
  return one_line(file) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + one_line(message);
}

LoadContext context_from_environment() {
  LoadContext ctx;
  const passwd* pw = ::getpwuid(::getuid());
  const char* home = std::getenv("HOME");
  if (home && *home) ctx.builtins["HOME"] = home;
  else if (pw && pw->pw_dir) ctx.builtins["HOME"] = pw->pw_dir;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd)) ctx.builtins["CWD"] = cwd;
  const char* tmp = std::getenv("TMPDIR");
  ctx.builtins["TMPDIR"] = tmp && *tmp == '/' ? tmp : "/tmp";
  const char* user = std::getenv("USER");
  if (pw && pw->pw_name) ctx.builtins["USER"] = pw->pw_name;
  else if (user && *user) ctx.builtins["USER"] = user;
  ctx.builtins["UID"] = std::to_string(::getuid());
  return ctx;
}

namespace {

constexpr std::size_t kMaxProfileBytes = 1 << 20;
constexpr int kMaxExtendsDepth = 32;

bool is_builtin_ref(std::string_view s) {
  auto ends = [&](std::string_view suf) { return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf; };
  return s.find('/') == std::string_view::npos && !ends(".yaml") && !ends(".yml");
}

std::string dirname_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string builtin_list() {
  std::string out;
  for (const std::string& n : builtin_profile_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The 1-based line where a second YAML document starts, or 0. A `---` or `...` at column 0
// followed by a blank or the end of the line is always a document marker (YAML 1.2:
// forbidden inside any scalar), so a line scan finds them: a `---` after content, or
// content after a `...`, starts another document.
int second_document_line(std::string_view text) {
  bool content = false, ended = false;
  int line = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t nl = text.find('\n', at);
    std::string_view l = text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    auto marker = [&](std::string_view m) {
      return l.substr(0, 3) == m && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r');
    };
    std::string_view rest = l;
    if (marker("---")) {
      if (content || ended) return line;
      rest = l.substr(3);
    } else if (marker("...")) {
      ended = true;
      continue;
    } else if (!content && !l.empty() && l[0] == '%') {
      continue;  // a directive (%YAML, %TAG) before the document
    }
    std::size_t first = rest.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || rest[first] == '#') continue;
    if (ended) return line;
    content = true;
  }
  return 0;
}

}  // namespace

// One loading session: the merged profile and every error found on the way.
Loader::Loader(const LoadContext& ctx) : ctx_(ctx) {}

void Loader::error(const std::string& file, const YAML::Mark& mark, std::string message) {
  int line = mark.line >= 0 ? mark.line + 1 : 0, col = mark.column >= 0 ? mark.column + 1 : 0;
  errors_.push_back(LoadError{file, line, col, std::move(message)});
}

void Loader::error_at(const std::string& file, int line, int col, std::string message) {
  errors_.push_back(LoadError{file, line, col, std::move(message)});
}

bool Loader::read_text(const std::string& path, std::string* text, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    ss.write(buf, in.gcount());
    if (static_cast<std::size_t>(ss.tellp()) > kMaxProfileBytes) {
      *why = "profile is larger than 1 MiB";
      return false;
    }
  }
  if (in.bad()) {
    *why = std::strerror(errno);
    return false;
  }
  *text = ss.str();
  return true;
}

bool Loader::load_top(std::string_view file_or_name) {
  std::string ref(file_or_name);
  profile_.source = ref;
  if (is_builtin_ref(ref)) {
    if (builtin_profile_text(ref)) {
      sha_input_ = *builtin_profile_text(ref);
      return load_unit(Unit{"builtin:" + ref, "builtin:" + ref, "", true, ref}, *builtin_profile_parse_text(ref), true);
    }
    if (::access(ref.c_str(), F_OK) != 0) {
      error_at(ref, 0, 0, "unknown profile '" + ref + "' (not a file, and no built-in of that name: " + builtin_list() + ")");
      return false;
    }
  }
  std::string text, why;
  if (!read_text(ref, &text, &why)) {
    error_at(ref, 0, 0, "cannot read profile '" + ref + "': " + why);
    return false;
  }
  sha_input_ = text;
  char* real = ::realpath(ref.c_str(), nullptr);
  std::string id = real ? real : ref;
  std::free(real);
  return load_unit(Unit{id, ref, dirname_of(id), false, ""}, text, true);
}

bool Loader::load_top_text(std::string_view text, std::string_view display) {
  std::string d(display);
  profile_.source = d;
  if (text.size() > kMaxProfileBytes) {
    error_at(d, 0, 0, "profile '" + d + "' is larger than 1 MiB");
    return false;
  }
  sha_input_ = std::string(text);
  std::string id = d[0] == '/' ? normalize_path(d) : d;
  return load_unit(Unit{id, d, dirname_of(d), false, ""}, sha_input_, true);
}

// Loads a unit referenced by `extends` from unit `from` (entry at `mark`).
void Loader::load_extends(const Unit& from, const std::string& ref, const YAML::Mark& mark) {
  if (static_cast<int>(stack_.size()) >= kMaxExtendsDepth) {
    error(from.display, mark, "'extends' nested more than 32 levels deep");
    return;
  }
  Unit u;
  std::string text;
  if (is_builtin_ref(ref)) {
    const std::string* t = builtin_profile_text(ref);
    if (!t) {
      error(from.display, mark, "unknown built-in profile '" + ref + "' (built-ins: " + builtin_list() +
                                    "; a file needs a '/' or a .yaml or .yml suffix)");
      return;
    }
    u = Unit{"builtin:" + ref, "builtin:" + ref, "", true, ref};
    text = *builtin_profile_parse_text(ref);
  } else {
    if (from.builtin) {
      error(from.display, mark, "a built-in profile cannot extend a file");
      return;
    }
    std::string path = ref[0] == '/' ? ref : from.dir + "/" + ref;
    std::string why;
    if (!read_text(path, &text, &why)) {
      error(from.display, mark, "cannot read profile '" + ref + "': " + why);
      return;
    }
    char* real = ::realpath(path.c_str(), nullptr);
    std::string id = real ? real : normalize_path(path);
    std::free(real);
    // Show paths relative to the way the user named the top file.
    std::string display = ref[0] == '/' ? ref : (from.display.find('/') == std::string::npos ? ref : dirname_of(from.display) + "/" + ref);
    u = Unit{id, display, dirname_of(id), false, ""};
  }
  for (std::size_t i = 0; i < stack_.size(); ++i) {
    if (stack_[i] == u.id) {
      std::string chain;
      for (std::size_t j = i; j < stack_display_.size(); ++j) chain += stack_display_[j] + " -> ";
      error(from.display, mark, "extends cycle: " + chain + u.display);
      return;
    }
  }
  if (done_.count(u.id)) return;  // already merged through another branch
  load_unit(u, text, false);
}

bool Loader::load_unit(const Unit& u, const std::string& text, bool top) {
  stack_.push_back(u.id);
  stack_display_.push_back(u.display);
  std::size_t before = errors_.size();
  try {
    YAML::Node root = YAML::Load(text);
    // YAML::Load reads the first document only: rules in a second one would be silently
    // ignored. (Not YAML::LoadAll: it takes seconds on some malformed inputs.)
    if (int line = second_document_line(text)) {
      error_at(u.display, line, 1, "a profile is one YAML document; remove this '---' and what follows, or merge it");
    } else {
      parse_unit(u, root, top);
    }
  } catch (const YAML::ParserException& e) {
    error(u.display, e.mark, "syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    error(u.display, e.mark, e.msg);
  } catch (const std::exception& e) {
    error_at(u.display, 0, 0, "cannot load profile '" + u.display + "': " + e.what());
  }
  stack_.pop_back();
  stack_display_.pop_back();
  done_.insert(u.id);
  profile_.files.push_back(u.display);
  return errors_.size() == before;
}

LoadResult Loader::finish() {
  LoadResult r;
  // A --set the profile never uses is a typo that would silently leave the profile's own
  // value (often broader) in force: refuse it.
  if (errors_.empty()) {
    for (const auto& [k, v] : ctx_.overrides) {
      if (profile_.vars.count(k) || referenced_.count(k) || ctx_.builtins.count(k)) continue;
      std::string known;
      for (const auto& [name, value] : profile_.vars) known += (known.empty() ? "" : ", ") + name;
      error_at(profile_.source, 0, 0, "--set " + k + ": profile '" + profile_.source + "' has no variable '" + k + "'" +
                                          (known.empty() ? "" : " (its variables: " + known + ")"));
    }
  }
  r.errors = errors_;
  if (!errors_.empty()) return r;
  if (!env_drop_given_) {
    for (const std::string& d : default_env_drop()) profile_.env.drop.push_back(d);
  }
  for (const auto& [k, v] : ctx_.builtins)
    if (!profile_.vars.count(k)) profile_.vars[k] = v;
  for (const auto& [k, v] : ctx_.overrides) profile_.vars[k] = v;
  if (profile_.metadata_origin.file.empty()) {
    profile_.metadata_origin = RuleOrigin{profile_.files.empty() ? profile_.source : profile_.files.back(), 0, 0,
                                          "metadata: checked"};
  }
  profile_.sha256 = sha256_hex(sha_input_);
  r.profile = std::move(profile_);
  r.facts = std::move(facts_);
  return r;
}

LoadResult load_profile_text(std::string_view text, std::string_view display, const LoadContext& ctx) {
  Loader l(ctx);
  if (display.empty()) display = "<text>";
  l.load_top_text(text, display);
  return l.finish();
}

LoadResult load_profile(std::string_view file_or_name, const LoadContext& ctx) {
  Loader l(ctx);
  l.load_top(file_or_name);
  return l.finish();
}

}  // namespace guardian::policy
