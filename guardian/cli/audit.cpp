// guardian audit: reviewer tools over audit logs (summary, query, tree, report, verify).
// This file only parses options; the work is in audit/{summary,query,tree,report,verify}.cpp.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "audit/review.hpp"
#include "cli/commands.hpp"

namespace guardian::cli {
namespace {

namespace po = boost::program_options;

constexpr const char* kAuditUsage =
    "usage: guardian audit summary LOG... [--json]\n"
    "       guardian audit query   LOG... [--decision D] [--category C] [--op O] [--event E] [--pid P]\n"
    "                                     [--path GLOB] [--addr A] [--since T] [--until T] [--json]\n"
    "       guardian audit tree    LOG...\n"
    "       guardian audit report  LOG... -o REPORT.html\n"
    "       guardian audit verify  LOG...\n"
    "\n"
    "Reviewer tools for guardian's audit logs (JSON Lines, format v1, or OCSF); '-' reads\n"
    "standard input. Give rotated files oldest first (LOG.1 LOG.2 ... LOG). Malformed lines\n"
    "are reported with their line number and skipped; only verify fails because of them.\n"
    "See guardian-audit(5).\n"
    "\n"
    "  summary  per session: command, profile, duration, exit; counts by decision, category\n"
    "           and op; denials grouped by target and rule; processes and their argv\n"
    "  query    the records matching every filter, as a table or (--json) as JSON Lines\n"
    "  tree     the process tree with argv, exit status and allow/deny counts per process\n"
    "  report   one self-contained HTML page: header, timeline, process tree, denials table\n"
    "  verify   check the hash chain: exit 0 only for an intact, complete log; otherwise\n"
    "           print FILE:LINE of each edited, deleted, inserted, reordered or cut record\n"
    "\n"
    "Run 'guardian audit SUBCOMMAND --help' for a subcommand's options.\n";

constexpr const char* kSummaryUsage =
    "usage: guardian audit summary LOG... [--json]\n"
    "Per session: command, profile, mode, backend, duration and exit; counts by decision and by\n"
    "category and op; denials grouped by target and rule with their count and first time; the\n"
    "processes and the argv they ran.\n"
    "  --json        one JSON object per session instead of text\n"
    "  -h, --help    show this help\n";

constexpr const char* kQueryUsage =
    "usage: guardian audit query LOG... [filters] [--json]\n"
    "Prints the records that match every filter given (a filter given twice matches either value).\n"
    "  --decision D  allow, deny, would-deny or kill\n"
    "  --category C  file, exec, network, process or system\n"
    "  --op O        read, write, stat, exec, connect, bind, ...\n"
    "  --event E     session_start, decision, process, limit or session_end\n"
    "  --pid P       process id\n"
    "  --path GLOB   resolved or raw path; * within a component, ** across, ? and {a,b}\n"
    "  --addr A      address as logged (1.2.3.4:443, [::1]:22, unix:/path), a glob, or a host\n"
    "                without port\n"
    "  --since T     records at or after T (RFC 3339, e.g. 2026-01-02T15:04:05Z or with +01:00;\n"
    "                a date alone is midnight UTC)\n"
    "  --until T     records at or before T\n"
    "  --json        JSON Lines exactly as written (for jq) instead of a table\n"
    "  -h, --help    show this help\n";

constexpr const char* kTreeUsage =
    "usage: guardian audit tree LOG...\n"
    "The process tree of each session: pid, argv (and the program, when argv[0] is not its\n"
    "path), exit status, and how many of the process's operations were allowed and denied.\n"
    "  -h, --help    show this help\n";

constexpr const char* kReportUsage =
    "usage: guardian audit report LOG... -o REPORT.html\n"
    "Writes one self-contained HTML file (inline CSS and script, no network access): the\n"
    "session header, a timeline of decisions, the process tree and a sortable, filterable\n"
    "table of denials. Open REPORT.html#filter=TEXT to start with a filter.\n"
    "  -o, --output FILE  where to write the page ('-' for stdout)\n"
    "  -h, --help         show this help\n";

constexpr const char* kVerifyUsage =
    "usage: guardian audit verify LOG...\n"
    "Replays the SHA-256 hash chain of every session and checks seq continuity and the\n"
    "session_end totals. Prints FILE:LINE: problem for each edited, deleted, inserted,\n"
    "reordered or truncated record, then OK or FAILED. Give rotated files oldest first.\n"
    "Exit status: 0 intact and complete, 1 problems found, 125 a file cannot be read.\n"
    "  -h, --help    show this help\n";

int bad(const std::string& sub, const std::string& msg) {
  std::fprintf(stderr, "guardian audit%s%s: %s (try 'guardian audit%s%s --help')\n", sub.empty() ? "" : " ",
               sub.c_str(), msg.c_str(), sub.empty() ? "" : " ", sub.c_str());
  return kExitGuardianFailure;
}

}  // namespace

int audit_main(int argc, char** argv) {
  if (argc < 2) return bad("", "missing subcommand (summary, query, tree, report or verify)");
  std::string sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::fputs(kAuditUsage, stdout);
    return 0;
  }
  const char* usage = sub == "summary" ? kSummaryUsage
                      : sub == "query" ? kQueryUsage
                      : sub == "tree"  ? kTreeUsage
                      : sub == "report" ? kReportUsage
                      : sub == "verify" ? kVerifyUsage
                                        : nullptr;
  if (!usage) return bad("", "unknown subcommand '" + sub + "' (expected summary, query, tree, report or verify)");

  std::vector<std::string> logs, decision, category, op, event;
  std::string path, addr, since, until, output;
  std::int64_t pid = 0;
  po::options_description desc;
  desc.add_options()("help,h", "");
  if (sub == "summary" || sub == "query") desc.add_options()("json", "");
  if (sub == "query")
    desc.add_options()("decision", po::value(&decision)->composing(), "")(
        "category", po::value(&category)->composing(), "")("op", po::value(&op)->composing(), "")(
        "event", po::value(&event)->composing(), "")("pid", po::value(&pid), "")("path", po::value(&path), "")(
        "addr", po::value(&addr), "")("since", po::value(&since), "")("until", po::value(&until), "");
  if (sub == "report") desc.add_options()("output,o", po::value(&output), "");
  po::options_description all;
  all.add(desc);
  all.add_options()("log", po::value(&logs), "");
  po::positional_options_description pos;
  pos.add("log", -1);
  po::variables_map vm;
  try {
    std::vector<std::string> args(argv + 2, argv + argc);
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(sub, e.what());
  }
  if (vm.count("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (logs.empty()) return bad(sub, "missing LOG");
  bool json = vm.count("json") > 0;

  if (sub == "verify") return audit::verify(logs, stdout);
  if (sub == "summary") return audit::summary(logs, stdout, json);
  if (sub == "tree") return audit::tree(logs, stdout);
  if (sub == "report") {
    if (output.empty()) return bad(sub, "missing -o REPORT.html");
    return audit::report(logs, output);
  }
  audit::QueryFilter f;
  auto check = [&](const std::vector<std::string>& vals, std::initializer_list<const char*> allowed,
                   const char* what) -> std::string {
    for (const auto& v : vals) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || v == a;
      if (!ok) return std::string("unknown ") + what + " '" + v + "'";
    }
    return {};
  };
  for (const std::string& e :
       {check(decision, {"allow", "deny", "would-deny", "kill"}, "decision"),
        check(category, {"file", "exec", "network", "process", "system"}, "category"),
        check(event, {"session_start", "decision", "process", "limit", "session_end"}, "event")})
    if (!e.empty()) return bad(sub, e);
  f.decision = decision;
  f.category = category;
  f.op = op;
  f.event = event;
  if (vm.count("pid")) f.pid = pid;
  for (const auto& [opt, val] : {std::pair<const char*, const std::string&>{"--path", path}, {"--addr", addr}})
    if (auto e = audit::check_glob(val); !val.empty() && !e.empty()) return bad(sub, std::string("bad ") + opt + " '" + val + "': " + e);
  f.path_glob = path;
  f.addr = addr;
  if (!since.empty()) {
    auto t = audit::normalise_time(since);
    if (!t) return bad(sub, "cannot read --since '" + since + "' (expected RFC 3339, e.g. 2026-01-02T15:04:05Z)");
    f.since = *t;
  }
  if (!until.empty()) {
    auto t = audit::normalise_time(until);
    if (!t) return bad(sub, "cannot read --until '" + until + "' (expected RFC 3339, e.g. 2026-01-02T15:04:05Z)");
    f.until = *t;
  }
  return audit::query(logs, f, stdout, json);
}

}  // namespace guardian::cli
