// Audit log (JSON Lines, spec §3) -> observations. Every operation the command performed or
// tried counts, whatever the verdict: in learn/complain logs they are `allow` or
// `would-deny`; `deny` records of an enforce log show what the command still needed.
#include "policy/learn/observe.hpp"

#include <map>
#include <set>
#include <tuple>

#include "policy/learn/json.hpp"

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
    std::string perr;
    auto rec = parse_json(line, perr);
    if (!rec) {
      if (!complete) {
        out.warnings.push_back(loc(name, lineno) + " skipped a truncated last line");
        break;
      }
      error = loc(name, lineno) + perr.substr(std::string_view("column ").size());
      // perr is "column N: msg" -> "NAME:LINE:N: msg"
      return std::nullopt;
    }
    if (rec->kind != Json::Kind::object) {
      error = loc(name, lineno) + "1: record is not a JSON object";
      return std::nullopt;
    }
    auto v = rec->get_int("v");
    if (!v) {
      error = loc(name, lineno) + "1: record has no version field 'v'";
      return std::nullopt;
    }
    if (*v != 1) {
      error = loc(name, lineno) + "1: unsupported audit log version " + std::to_string(*v);
      return std::nullopt;
    }
    auto event = rec->get_string("event");
    if (!event) {
      error = loc(name, lineno) + "1: record has no 'event'";
      return std::nullopt;
    }
    if (*event == "session_start") {
      auto cwd = rec->get_string("cwd");
      if (out.session.seen) {
        if (cwd && *cwd != out.session.cwd)
          out.warnings.push_back(loc(name, lineno) + " another session with cwd " + *cwd +
                                 "; ${CWD} stays " + out.session.cwd);
        continue;
      }
      out.session.seen = true;
      out.session.cwd = cwd.value_or("");
      out.session.home = rec->get_string("home").value_or("");
      out.session.tmpdir = rec->get_string("tmpdir").value_or("");
      out.session.mode = rec->get_string("mode").value_or("");
      out.session.profile = rec->get_string("profile").value_or("");
      if (const Json* a = rec->get("argv"); a != nullptr && a->kind == Json::Kind::array)
        for (const Json& s : a->arr)
          if (s.kind == Json::Kind::string) out.session.argv.push_back(s.str);
      continue;
    }
    if (*event == "process") {
      if (auto pid = rec->get_int("pid"); pid && *pid > 0) pids.insert(*pid);
      continue;
    }
    if (*event != "decision") continue;  // limit, session_end: nothing to learn
    ++out.records;
    auto cat_s = rec->get_string("category");
    auto op_s = rec->get_string("op");
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
    o.path = rec->get_string("path").value_or("");
    o.addr = rec->get_string("addr").value_or("");
    o.host = rec->get_string("host").value_or("");
    o.exe = rec->get_string("exe").value_or("");
    o.syscall = rec->get_string("syscall").value_or("");
    o.pid = rec->get_int("pid").value_or(0);
    o.tid = rec->get_int("tid").value_or(0);
    if (o.pid > 0) pids.insert(o.pid);
    if (o.tid > 0) pids.insert(o.tid);
    bool is_file = o.category == Category::file || o.category == Category::exec;
    bool is_net = o.category == Category::network && (o.op == Op::connect || o.op == Op::bind);
    if (is_file && (o.path.empty() || o.path[0] != '/')) {
      error = loc(name, lineno) + "1: file decision without an absolute 'path'";
      return std::nullopt;
    }
    if (is_net && o.addr.empty()) {
      error = loc(name, lineno) + "1: network decision without 'addr'";
      return std::nullopt;
    }
    if (!is_file && !is_net) continue;  // process/system operations have no profile rules
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
