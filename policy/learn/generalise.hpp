// The generaliser: observed operations -> the smallest readable profile that allows them.
// Pure code: no syscalls (the caller resolves CWD/HOME/TMPDIR and supplies the oracle).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/learn/observe.hpp"

namespace guardian::policy::learn {

// How much evidence turns a directory into DIR/** (see generalise.cpp for the reasoning).
struct Thresholds {
  std::size_t tree_min_paths = 8;      // distinct paths used under the directory
  std::size_t tree_min_branches = 2;   // distinct children of it that were used
  std::size_t metadata_open_min = 200; // stat-only paths left over before `metadata: open`
};

struct LearnOptions {
  std::string cwd, home, tmpdir;  // resolved (realpath) values of ${CWD}, ${HOME}, ${TMPDIR}
  std::string name;               // profile `name:`
  std::vector<std::string> extends{"base"};
  std::vector<std::string> command;  // argv of the learned command (for the header comment)
  std::vector<std::int64_t> pids;    // PIDs of the session, recognised inside file names
  // True when an operation is already allowed (by base, or by the profile being merged):
  // such operations produce no rule. Unset: nothing is allowed yet.
  std::function<bool(const Observation&)> already_allowed;
  Thresholds thresholds;
};

// One generated rule with its evidence (shown as a comment).
struct LearnedRule {
  std::string pattern;       // as written in the profile (may hold ${CWD}, *, **)
  std::uint64_t ops = 0;     // operations it covered
  std::size_t paths = 0;     // distinct paths it covered
  std::string example;       // one real path (or address) it covered
  bool stat_only = false;    // every operation was metadata only
};

struct Learned {
  std::vector<LearnedRule> read, write, exec, connect, bind;
  bool dns = false;
  std::uint64_t dns_ops = 0;
  bool metadata_open = false;
  std::uint64_t metadata_ops = 0;    // stat-only operations left to `metadata: open`
  std::uint64_t total_ops = 0;       // operations seen
  std::uint64_t covered_ops = 0;     // already allowed (base / merged profile)
  std::uint64_t ancestor_ops = 0;    // metadata on ancestors of allowed paths (implied)

  bool empty() const {
    return read.empty() && write.empty() && exec.empty() && connect.empty() && bind.empty() && !dns &&
           !metadata_open;
  }
};

// Generalises observations into rules.
Learned generalise(const std::vector<Observation>& obs, const LearnOptions& opts);

// The complete commented profile (format v1) for `learned`.
std::string render_profile(const Learned& learned, const LearnOptions& opts);

// Widens the profile text `old_text` with `learned`, keeping its rules and comments: new
// items are appended to the lists they belong to (a flow list is rewritten as a block list).
// Returns false with `error` when the text's layout cannot be edited safely.
bool merge_profile(std::string_view old_text, const Learned& learned, std::string& out, std::string& error);

// True when `pattern` (a generated rule: '*' within a component, trailing "/**") covers
// `key` (a path pattern with the same variables). Exposed for tests.
bool pattern_covers(std::string_view pattern, std::string_view key);

// The profile spelling of one path: variables for CWD/HOME/TMPDIR, temporary names and
// PIDs turned into '*', glob characters neutralised. `created` says whether a prefix of
// the path was written by the session (only then are random-looking names generalised
// outside temporary directories); asked "DIR/*", whether the session wrote a hash-named
// entry in DIR (git-style fan-out directories). Exposed for tests.
std::string path_key(std::string_view path, const LearnOptions& opts, std::int64_t pid,
                     const std::function<bool(std::string_view)>& created);

}  // namespace guardian::policy::learn
