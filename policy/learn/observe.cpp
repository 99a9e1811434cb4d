// Audit log (JSON Lines, spec §3) -> observations. Every operation the command performed or
// tried counts, whatever the verdict: in learn/complain logs they are `allow` or
// `would-deny`; `deny` records of an enforce log show what the command still needed.
#include "policy/learn/observe.hpp"

#include <map>
#include <set>
#include <tuple>

#include "policy/file_ops.hpp"
#include "policy/json_record.hpp"

namespace guardian::policy::learn {

std::optional<Category> category_from(std::string_view s) {
  for (auto c : {Category::file, Category::exec, Category::network, Category::process, Category::system})
    if (to_string(c) == s) return c;
  return std::nullopt;
}

std::optional<Op> op_from(std::string_view s) {
  for (auto o : {Op::read, Op::write, Op::stat, Op::exec, Op::connect, Op::bind, Op::socket, Op::signal,
                 Op::trace, Op::ioctl, Op::other})
    if (to_string(o) == s) return o;
  return std::nullopt;
}

namespace {

using Key = std::tuple<Category, Op, std::string, std::string, std::string>;

// The allow names guardian's own rule for a terminal the session held (guardian:terminal),
// or no rule (logs of guardian versions that named none for it).
bool held_terminal(const json::Record& rec) {
  const json::Value* rule = rec.get("rule");
  if (!rule) return true;
  if (rule->type != json::Value::Type::object) return false;
  json::Record r;
  std::string err;
  return r.parse(rule->text, err) && r.opt_str("file").value_or("") == "guardian:terminal";
}

// The allow names guardian's rule for a connect to a listener the session itself made
// (guardian:own-listener): any profile gets that without a rule, and the port is the one the
// kernel picked this time (a test suite's server on 127.0.0.1:0), another the next.
bool own_listener(const json::Record& rec) {
  const json::Value* rule = rec.get("rule");
  if (!rule || rule->type != json::Value::Type::object) return false;
  json::Record r;
  std::string err;
  return r.parse(rule->text, err) && r.opt_str("file").value_or("") == "guardian:own-listener";
}

std::string loc(std::string_view name, std::size_t line) {
  return std::string(name) + ":" + std::to_string(line) + ":";
}

}  // namespace

std::optional<AuditInput> read_audit(std::istream& in, std::string_view name, std::string& error) {
  AuditInput out;
  std::map<Key, std::size_t> index;
  std::set<std::int64_t> pids;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    bool complete = !in.eof();  // getline hit '\n' unless this is an unterminated last line
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string reason;
    std::size_t column = 0;
    json::Record rec;  // views into `line`
    if (!rec.parse(line, reason, column)) {
      if (!complete) {
        out.warnings.push_back(loc(name, lineno) + " skipped a truncated last line");
        break;
      }
      error = loc(name, lineno) + std::to_string(column) + ": " + reason;
      return std::nullopt;
    }
    if (!json::unwrap_ocsf(rec, reason)) {  // an OCSF line: the v1 record inside
      error = loc(name, lineno) + "1: " + reason + " in 'unmapped'";
      return std::nullopt;
    }
    auto v = rec.i64("v");
    if (!v) {
      error = loc(name, lineno) + "1: record has no version field 'v'";
      return std::nullopt;
    }
    if (*v != 1) {
      error = loc(name, lineno) + "1: unsupported audit log version " + std::to_string(*v);
      return std::nullopt;
    }
    auto event = rec.opt_str("event");
    if (!event) {
      error = loc(name, lineno) + "1: record has no 'event'";
      return std::nullopt;
    }
    if (*event == "session_start") {
      auto cwd = rec.opt_str("cwd");
      if (out.session.seen) {
        if (cwd && *cwd != out.session.cwd)
          out.warnings.push_back(loc(name, lineno) + " another session with cwd " + *cwd +
                                 "; ${CWD} stays " + out.session.cwd);
        continue;
      }
      out.session.seen = true;
      out.session.cwd = cwd.value_or("");
      out.session.home = rec.opt_str("home").value_or("");
      out.session.tmpdir = rec.opt_str("tmpdir").value_or("");
      out.session.mode = rec.opt_str("mode").value_or("");
      out.session.profile = rec.opt_str("profile").value_or("");
      out.session.argv = rec.str_array("argv");
      continue;
    }
    if (*event == "process") {
      if (auto pid = rec.i64("pid"); pid && *pid > 0) pids.insert(*pid);
      continue;
    }
    if (*event != "decision") continue;  // limit, session_end: nothing to learn
    ++out.records;
    auto cat_s = rec.opt_str("category");
    auto op_s = rec.opt_str("op");
    if (!cat_s || !op_s) {
      error = loc(name, lineno) + "1: decision record without 'category' or 'op'";
      return std::nullopt;
    }
    auto cat = category_from(*cat_s);
    auto op = op_from(*op_s);
    if (!cat || !op) {
      out.warnings.push_back(loc(name, lineno) + " ignored unknown category/op " + *cat_s + "/" + *op_s);
      continue;
    }
    Observation o;
    o.category = *cat;
    o.op = *op;
    o.path = rec.opt_str("path").value_or("");
    o.addr = rec.opt_str("addr").value_or("");
    o.host = rec.opt_str("host").value_or("");
    o.exe = rec.opt_str("exe").value_or("");
    o.syscall = rec.opt_str("syscall").value_or("");
    o.pid = rec.i64("pid").value_or(0);
    o.tid = rec.i64("tid").value_or(0);
    if (o.pid > 0) pids.insert(o.pid);
    if (o.tid > 0) pids.insert(o.tid);
    bool is_file = o.category == Category::file || o.category == Category::exec;
    bool is_net = o.category == Category::network && (o.op == Op::connect || o.op == Op::bind);
    // A pipe, socket or other anonymous object reopened through /dev/fd/N or /proc/self/fd/N
    // (bash's process substitution, `cat <(cmd)`): guardian names it as the kernel does
    // (pipe:[N]) and allows the session's own without a rule; no rule could name one. Learning
    // stopped at it with an error, and `guardian learn` wrote no profile.
    if (is_file && !o.path.empty() && o.path[0] != '/' && o.path.find(':') != std::string::npos)
      continue;
    if (is_file && (o.path.empty() || o.path[0] != '/')) {
      error = loc(name, lineno) + "1: file decision without an absolute 'path'";
      return std::nullopt;
    }
    if (is_net && o.addr.empty()) {
      error = loc(name, lineno) + "1: network decision without 'addr'";
      return std::nullopt;
    }
    if (!is_file && !is_net) continue;  // process/system operations have no profile rules
    // A terminal the session held, looked at or reopened by name: guardian allows that
    // without a rule (guardian-profile(5), base), and /dev/pts/N names the user's other
    // terminals in the next session, so no rule is learned for it.
    if (o.category == Category::file && pts_index(o.path) &&
        rec.opt_str("decision").value_or("") == "allow" && held_terminal(rec))
      continue;
    if (is_net && o.op == Op::connect && rec.opt_str("decision").value_or("") == "allow" &&
        own_listener(rec))
      continue;
    Key k{o.category, o.op, o.path, o.addr, o.host};
    auto [it, fresh] = index.emplace(k, out.observations.size());
    if (fresh) out.observations.push_back(std::move(o));
    else ++out.observations[it->second].count;
  }
  if (in.bad()) {
    error = std::string(name) + ": read error";
    return std::nullopt;
  }
  out.pids.assign(pids.begin(), pids.end());
  return out;
}

}  // namespace guardian::policy::learn
