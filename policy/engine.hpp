// Profile -> CompiledProfile; decide(Request) -> Decision. Pure: no kernel, no allocation per query.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "profile.hpp"
#include "request.hpp"

namespace guardian::policy {

// decide() semantics (profile format v1, spec §2), in the order they are applied:
//
// Paths. Request::path must be absolute; it is normalised lexically (".", "..", "//") into a
// stack buffer when needed; a path that is empty, relative or longer than 4095 bytes is
// denied (rule nullptr). Request::lexical_path (optional) gets the same treatment. With
// Request::pid set, "/proc/PID/..." of that process also matches rules written under
// "/proc/self/...".
//
// Rules are indexed by the literal directory prefix of each pattern (a trie of path
// components); each rule is compiled twice when resolving its prefix at load changed it:
// as resolved (PathRule::resolved, e.g. /bin/sh -> /usr/bin/dash) and as written
// (PathRule::pattern). Both forms match.
//
// 1. Deny first. `files.deny` matches Request::path and Request::lexical_path, for every op
//    (read, write, stat, exec). `files.deny_write` does the same for Op::write only;
//    `exec.deny` for Op::exec only. Any match -> Verdict::deny with that rule, whatever
//    allows it and whichever file of the `extends` chain either came from.
// 2. Allow. Which lists grant which op:
//      Op::read   files.read, files.write            (write implies read)
//      Op::write  files.write
//      Op::stat   files.read, files.write, exec.allow; with `metadata: open` every stat is
//                 allowed (rule = the `metadata:` line); the supervisor may then skip asking
//                 at all (metadata_open()), which is what the spec promises users
//      Op::exec   exec.allow                          (Category::exec or Op::exec)
//    Allow rules match Request::path; they match Request::lexical_path too when
//    Request::lexical_trusted (every symlink on the way lies outside what the session may
//    write). The rule reported is the most specific match (deepest literal prefix).
// 3. Ancestors. Op::stat of a directory on the way to something an allow rule could match
//    (any of read/write/exec) is allowed with Decision::ancestor = true and rule = one such
//    rule: realpath() and friends must be able to walk there. Listing it is not implied.
// 4. Otherwise deny with rule nullptr ("nothing matched").
//
// Network (Category::network, Op::connect / Op::bind): `network.deny` matches first and
// denies both; then `network.connect` resp. `network.bind`, first match in profile order.
// An IP rule matches Request::addr; a host-name rule matches Request::host; `*` matches both.
// Other ops (socket, signal, trace, ioctl, other) are not described by profiles: decide()
// denies them with rule nullptr; the supervisor owns their fixed policy.
//
// Decision::err is the profile's deny_errno on deny, 0 on allow. Decision::rule points into
// the engine and stays valid for the engine's lifetime (also across add_rule()).
// decide(), tip() and the accessors are const and touch no shared mutable state: safe to
// call from several threads at once. add_rule() is not; call it before sharing the engine.
class Engine {
 public:
  // Compiles the profile. Throws std::invalid_argument when a pattern does not compile (the
  // loader already rejected those with a location; this guards hand-built profiles).
  explicit Engine(const Profile& profile);
  // The same, taking the profile over instead of copying it (the shim's fast path builds an
  // engine in every process it is loaded into: one copy of every rule less). (Seam
  // extension for issue 8.)
  explicit Engine(Profile&& profile);
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // The decision for one request (allow/deny; the caller applies complain mode and on_deny).
  Decision decide(const Request& req) const noexcept;

  // Renaming directory `from` to `to` (absolute paths) moves every path below it. Allowed
  // only when no path below either keeps a different verdict from its counterpart below
  // the other: the deny, deny_write and write rules leave the same residual patterns
  // (Glob::residuals_below) below both. Otherwise deny, naming the deny or deny_write rule
  // that tells them apart (nullptr when a write rule does), e.g. `mv .git g` under
  // deny_write ${CWD}/**/.git/hooks/**. The two paths themselves are decided by decide().
  // (Seam extension: the supervisor's rename of a directory.)
  Decision decide_move(std::string_view from, std::string_view to) const;

  // The smallest profile rule that would allow `req`, as YAML text (for audit `tip`), e.g.
  // `files: {read: ["${CWD}/data.csv"]}` or `network: {connect: ["1.2.3.4:443"]}`. When a
  // deny rule decided, a YAML comment naming it instead (no allow rule can override it).
  std::string tip(const Request& req) const;

  // Adds one allow rule on top (--allow-read etc.), origin "command line" (line 0).
  // kind: "read", "write", "exec", "connect", "bind". A leading '~' is $HOME, a relative path
  // is taken from ${CWD}; the literal prefix is resolved like profile rules.
  // Throws std::invalid_argument("bad pattern '...': reason") on a bad kind or pattern.
  void add_rule(std::string_view kind, std::string_view pattern);

  // True with `metadata: open`: stat-family calls, access and readlink need not be asked.
  bool metadata_open() const noexcept;

  const Profile& profile() const noexcept;

  // A stable number for a rule this engine may return in Decision::rule, and back: 0 for
  // nullptr, 1.. for rules in the order they were added (then `metadata:`). Two engines
  // built from equal profiles number their rules alike, which lets the shim's fast path name
  // a rule to the supervisor with a number. rule_by_id() returns nullptr for unknown ids.
  // (Seam extension for issue 8.)
  std::uint32_t rule_id(const RuleOrigin* rule) const noexcept;
  const RuleOrigin* rule_by_id(std::uint32_t id) const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guardian::policy
