// YAML -> Profile. yaml-cpp exceptions stop here and become located errors.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "profile.hpp"

namespace guardian::policy {

class FsFacts;

// A located load error, printed as FILE:LINE:COL: message.
struct LoadError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  // "FILE:LINE:COL: message", or "guardian: message" without a line (the message then names
  // the file); control characters are shown as \xNN so it stays one line.
  std::string str() const;
};

struct LoadContext {
  // Built-in variables: HOME, CWD, TMPDIR, USER, UID. The caller fills them from the
  // process environment (policy/ makes no syscalls of its own except reading files
  // and resolving rule prefixes).
  std::map<std::string, std::string> builtins;
  std::map<std::string, std::string> overrides;  // --set NAME=VALUE
};

struct LoadResult {
  std::optional<Profile> profile;
  std::vector<LoadError> errors;  // empty on success
  // What resolving the rules' prefixes read of the file system (readlinks, listings): the
  // Landlock envelope resolves the same prefixes and more of the same directories, and
  // reuses them (EnvelopeOptions::facts) instead of asking the kernel again. Not shared
  // between threads: whoever takes it owns it.
  std::shared_ptr<FsFacts> facts;
};

// The built-in variables from the process: HOME ($HOME, else the password database), CWD
// (getcwd), TMPDIR ($TMPDIR when absolute, else /tmp), USER (password database, else $USER),
// UID (getuid). Overrides stay empty.
LoadContext context_from_environment();

// Loads a profile from a file path or a built-in name (a name with no '/' and no ".yaml"
// that names a built-in profile).
LoadResult load_profile(std::string_view file_or_name, const LoadContext& ctx);

// Loads profile text held in memory as if it were the file `display` (its directory is
// ${PROFILE_DIR} and the base of relative `extends`). For fuzzing and for tools that
// produce profiles (learn); Profile::sha256 is the digest of `text`.
LoadResult load_profile_text(std::string_view text, std::string_view display, const LoadContext& ctx);

// The text of a built-in profile, or nullptr. Built-ins are policy/profiles/*.yaml, embedded
// at build time; their rules' origin file is "builtin:NAME".
const std::string* builtin_profile_text(std::string_view name);
// What the loader parses of a built-in: its text with comment-only lines blanked (same
// lines and columns; Profile::sha256 and `profile show` use the text itself).
const std::string* builtin_profile_parse_text(std::string_view name);
std::vector<std::string> builtin_profile_names();

}  // namespace guardian::policy
