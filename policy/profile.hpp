// The model of a loaded profile (format v1): every rule keeps where it came from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace guardian::policy {

// Where a rule was written: shown in `profile explain`, audit records and errors.
struct RuleOrigin {
  std::string file;     // path of the profile file, or "builtin:NAME"
  int line = 0;         // 1-based
  int column = 0;       // 1-based
  std::string pattern;  // the rule as written, before expansion
};

// A path pattern after variable expansion (absolute), with its origin.
struct PathRule {
  std::string pattern;   // expanded and lexically normalised, as written (symlinks kept)
  RuleOrigin origin;
  // `pattern` with its longest existing literal prefix resolved through the file system at
  // load (resolve_pattern_prefix in glob.hpp); equal to `pattern` when nothing resolved.
  std::string resolved = {};
};

// A network rule as written ("HOST:PORT", "unix:PATH", ...), parsed by address.hpp.
struct NetRule {
  std::string text;    // after variable expansion
  RuleOrigin origin;
  // unix: path rules only: `text` with the socket path's literal prefix resolved at load
  // ("unix:/var/run/x.sock" -> "unix:/run/x.sock"); empty or equal to `text` otherwise.
  std::string resolved = {};
};

enum class MetadataMode : std::uint8_t { checked, open };
enum class OnDeny : std::uint8_t { errno_, kill, ask };
enum class AuditLevel : std::uint8_t { all, deny };

struct Limits {
  std::optional<double> wall_s;
  std::optional<double> cpu_s;
  std::optional<std::uint64_t> memory_bytes;
  std::optional<std::uint32_t> pids;
  std::optional<std::uint32_t> nofile;
};

struct EnvPolicy {
  bool has_keep = false;
  std::vector<std::string> keep;  // glob on names
  std::vector<std::string> drop;  // glob on names
  std::vector<std::pair<std::string, std::string>> set;
};

struct Profile {
  std::string name;         // `name:` or derived from the file
  std::string source;       // path as given to --profile, or the built-in name
  std::string sha256;       // hex digest of the top-level file's bytes
  std::vector<std::string> files;  // every file merged in (extends order), for provenance

  std::vector<PathRule> read, write, deny;
  // files.deny_write (extension of v1): write-protected even where `write` allows, still
  // readable where `read`/`write` allow (.git/hooks, .envrc, shell rc files in `default`).
  std::vector<PathRule> deny_write;
  MetadataMode metadata = MetadataMode::checked;
  RuleOrigin metadata_origin;  // where `metadata:` was set (provenance of metadata: open)
  std::vector<PathRule> exec_allow, exec_deny;
  std::vector<NetRule> connect, bind, net_deny;
  bool dns = false;
  Limits limits;
  EnvPolicy env;
  OnDeny on_deny = OnDeny::errno_;
  int deny_errno = 13;  // EACCES
  AuditLevel audit = AuditLevel::all;
  std::map<std::string, std::string> vars;  // final variable values (after --set)
};

}  // namespace guardian::policy
