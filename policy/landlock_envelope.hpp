// Profile -> Landlock envelope: the coarse superset of a profile that Landlock can express.
//
// Landlock only grants (it has no deny rules) and only knows directory hierarchies, TCP
// ports and scopes, so the envelope is always a superset of what the profile allows:
// the supervisor still decides every request precisely; the envelope is the second wall
// that holds even if the supervisor is bypassed. No syscalls here except resolving rule
// prefixes and symlink chains (readlink, stat), and reading each rule's directory to find
// system symlinks that point elsewhere (policy/fs_facts: each fact read once).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "profile.hpp"

namespace guardian::policy {

class FsFacts;
class LinkCache;

// Abstract access classes; guardian/launch/landlock maps them to the kernel's bits per ABI.
enum EnvelopeAccess : std::uint8_t {
  kEnvRead = 1,   // open for reading, list directories, device ioctls
  kEnvWrite = 2,  // every write-class operation beneath (implies kEnvRead)
  kEnvExec = 4,   // execute (and read) files beneath
};

// One filesystem entry: `path` (resolved, absolute) and everything beneath it.
struct EnvelopePath {
  std::string path;
  std::uint8_t access = 0;  // EnvelopeAccess bits
  bool is_dir = true;       // false: a single file (only file rights apply)
  std::string why;          // the first rule that produced it: "read /usr/** (FILE:LINE)"
};

// An inclusive TCP port range.
struct PortRange {
  std::uint16_t lo = 0, hi = 0;
  bool operator==(const PortRange&) const = default;
};

// One direction (connect or bind) of the TCP envelope.
struct PortSet {
  bool all = false;              // some rule allows every port: do not restrict this direction
  std::vector<PortRange> ports;  // sorted, merged; empty and !all = nothing allowed
};

struct Envelope {
  std::vector<EnvelopePath> paths;  // sorted by path; one entry per path
  PortSet connect, bind;
  bool scope_abstract_unix = true;  // false when the profile connects to abstract sockets
  bool scope_signal = true;         // signals only within the session
  std::vector<std::string> notes;   // what the envelope widens or cannot express, for humans
};

// What the envelope needs beyond the profile.
struct EnvelopeOptions {
  // Programs the session may exec regardless of exec rules (the COMMAND itself), resolved.
  std::vector<std::string> extra_exec;
  // Paths the dynamic loader needs to execute (the ELF interpreters).
  std::vector<std::string> loaders = {
      "/lib64/ld-linux-x86-64.so.2",
      "/lib/ld-linux-x86-64.so.2",
      "/lib/ld-linux-aarch64.so.1",
  };
  // Add the targets of system symlinks found in rule directories (see follow_aliases in
  // the .cpp): /usr/bin/clang -> /usr/lib/llvm-14/bin/clang must stay executable.
  bool follow_aliases = true;
  // Extra allow rules given on the command line (--allow-read etc.), already expanded.
  std::vector<std::string> extra_read, extra_write, extra_exec_rules;
  std::vector<std::string> extra_connect, extra_bind;
  // The facts the profile's load read (LoadResult::facts), a few milliseconds old: its rule
  // prefixes resolve again from memory. Taken over by the computation (not thread-safe);
  // null: everything is read afresh.
  std::shared_ptr<FsFacts> facts;
  // Listings and link texts of the alias scans' directories kept between runs (LinkCache:
  // `guardian run` uses the user's); null: every directory is read. Nothing from it widens
  // the envelope unchecked. `reuse_link_cache` false: read afresh, and keep that.
  LinkCache* link_cache = nullptr;
  bool reuse_link_cache = true;
};

// The literal leading part of a pattern: every component before the first one holding a
// glob character. "/usr/lib/*.so*" -> "/usr/lib"; "/etc/hosts" -> "/etc/hosts".
std::string literal_prefix(const std::string& pattern);

// Computes the envelope of `profile` (deny rules ignored: Landlock cannot express them).
Envelope compute_envelope(const Profile& profile, const EnvelopeOptions& opts = {});

// Human-readable listing, one entry a line (shown by `guardian profile envelope`). Targets of
// system symlinks (often a hundred or more) are summed up in one line unless `verbose`.
std::string format_envelope(const Envelope& env, bool verbose = false);

// Whether an entry is the target of a system symlink (added by the alias scan).
bool is_alias_entry(const EnvelopePath& p);

// Compact one-line forms for the audit log's session_start record. Targets of system
// symlinks are left out unless `with_aliases` (there are often a hundred or more).
std::string envelope_paths_text(const Envelope& env, std::uint8_t access_bit, bool with_aliases = false);
std::string port_set_text(const PortSet& ports);  // "all", "none" or "53,443,8000-8100"
std::string scopes_text(const Envelope& env);      // "abstract-unix signal" or "none"

}  // namespace guardian::policy
