// The reviewer tools behind `guardian audit`: each streams the logs once and writes its
// result to `out`; the return value is the exit status (0 ok, 1 problems found in the
// log, 125 the log could not be read or the output not written).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace guardian::audit {

// Checks the hash chain, seq continuity and completeness of every session in the files
// (rotated files oldest first). Prints one line per problem (FILE:LINE: what) and a verdict.
int verify(const std::vector<std::string>& files, std::FILE* out);

// Per session: command, profile, mode, backend, duration, exit; counts by decision,
// category and op; denials grouped by rule and target; processes and their argv.
int summary(const std::vector<std::string>& files, std::FILE* out, bool json);

struct QueryFilter {
  std::vector<std::string> decision, category, op, event;  // any of (empty: no filter)
  std::optional<std::int64_t> pid;
  std::string path_glob, addr;
  std::string since, until;  // normalised RFC 3339 (see normalise_time)
};
// Prints the matching records as a table, or as JSON Lines (the records as written).
int query(const std::vector<std::string>& files, const QueryFilter& f, std::FILE* out, bool json);

// Turns a user's time ("2026-11-23T20:00:00Z", "2026-11-23 20:00:00+01:00", "2026-11-23")
// into the log's form (UTC, nanoseconds) so it compares as text; nullopt if unreadable.
std::optional<std::string> normalise_time(const std::string& text);

// Glob over paths: `*` within one component, `?` one character, `**` any depth, {a,b}.
bool path_glob_match(std::string_view pattern, std::string_view path);
// "" when `pattern` is a usable --path/--addr glob, else why not (unbalanced braces, too many
// alternatives).
std::string check_glob(std::string_view pattern);

// The process tree with argv, exit status and allow/deny counts per process.
int tree(const std::vector<std::string>& files, std::FILE* out);

// One self-contained HTML file: header, timeline, process tree, denials table.
int report(const std::vector<std::string>& files, const std::string& output);

}  // namespace guardian::audit
