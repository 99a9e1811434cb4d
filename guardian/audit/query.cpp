// `guardian audit query`: the records that match every given filter, as a table or as
// JSON Lines exactly as they were written (for jq).
#include <algorithm>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "audit/digest.hpp"
#include "audit/reader.hpp"
#include "audit/review.hpp"
#include "policy/glob.hpp"

namespace guardian::audit {
namespace {

bool any_of(const std::vector<std::string>& wanted, std::string_view v) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), v) != wanted.end();
}

// Matches the brace-free pattern `p` against all of `s`: `*` and `?` within one component,
// `**` across components (`**/` also matches no directory at all), `\c` is c. A simulation
// of the pattern's automaton over the positions of `s` — linear in each, whatever the
// number of wildcards (backtracking is exponential on `*a*a*a...b`).
bool glob_at(std::string_view p, std::string_view s) {
  const std::size_t n = s.size();
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  reach[0] = 1;
  for (std::size_t pi = 0; pi < p.size();) {
    std::fill(next.begin(), next.end(), 0);
    char c = p[pi];
    if (c == '*') {
      bool dbl = pi + 1 < p.size() && p[pi + 1] == '*';
      bool slash = dbl && pi + 2 < p.size() && p[pi + 2] == '/';
      bool carry = false;
      for (std::size_t k = 0; k <= n; ++k) {
        if (reach[k]) carry = true;
        if (slash) {
          // "**/": no directory (skip it), or anything up to and including a '/'.
          if (reach[k]) next[k] = 1;
          if (carry && k < n && s[k] == '/') next[k + 1] = 1;
        } else {
          if (carry) next[k] = 1;
          if (!dbl && k < n && s[k] == '/') carry = false;
        }
      }
      pi += slash ? 3 : dbl ? 2 : 1;
    } else {
      bool any = c == '?';
      if (c == '\\' && pi + 1 < p.size()) c = p[++pi];
      for (std::size_t k = 0; k < n; ++k)
        if (reach[k] && (any ? s[k] != '/' : s[k] == c)) next[k + 1] = 1;
      ++pi;
    }
    reach.swap(next);
  }
  return reach[n] != 0;
}

std::string clip(std::string s, std::size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

}  // namespace

bool path_glob_match(std::string_view pattern, std::string_view path) {
  // Brace alternatives as in profiles (nested, at most 256), expanded once per pattern: a
  // query tries one pattern against every record.
  thread_local std::string last;
  thread_local std::vector<std::string> alts;
  if (pattern != last || alts.empty()) {
    last.assign(pattern);
    alts.clear();
    std::string err;
    if (!policy::expand_braces(pattern, &alts, &err)) alts = {std::string(pattern)};
  }
  for (const std::string& a : alts) {
    // DIR/** also matches DIR itself, as in profiles.
    std::string_view alt = a;
    if (alt.size() > 3 && alt.substr(alt.size() - 3) == "/**" && glob_at(alt.substr(0, alt.size() - 3), path)) return true;
    if (glob_at(alt, path)) return true;
  }
  return false;
}

std::string check_glob(std::string_view pattern) {
  std::vector<std::string> alts;
  std::string err;
  if (!policy::expand_braces(pattern, &alts, &err)) return err;
  return {};
}

std::optional<std::string> normalise_time(const std::string& text) {
  auto ns = parse_ts(text);
  if (!ns) return std::nullopt;
  timespec ts{static_cast<time_t>(*ns / 1000000000), static_cast<long>(*ns % 1000000000)};
  if (ts.tv_nsec < 0) ts.tv_sec -= 1, ts.tv_nsec += 1000000000;
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char full[80];
  std::snprintf(full, sizeof full, "%s.%09ldZ", buf, ts.tv_nsec);
  return std::string(full);
}

int query(const std::vector<std::string>& files, const QueryFilter& f, std::FILE* out, bool json) {
  bool decision_filters = !f.decision.empty() || !f.category.empty() || !f.op.empty() || !f.path_glob.empty() ||
                          !f.addr.empty();
  std::string b1, b2, b3;
  std::uint64_t shown = 0;
  if (!json)
    std::fprintf(out, "%-30s %7s %7s %-10s %-8s %-7s %-11s %-44s %s\n", "TIME", "SEQ", "PID", "DECISION", "CATEGORY",
                 "OP", "SYSCALL", "PATH/ADDR", "RULE");
  bool ok = for_each_record(files, [&](const LineRef& line, const Record& rec) {
    std::string_view event = rec.sv("event", b1);
    if (!any_of(f.event, event)) return;
    if (decision_filters && event != "decision") return;
    if (!f.decision.empty() && !any_of(f.decision, rec.sv("decision", b2))) return;
    if (!f.category.empty() && !any_of(f.category, rec.sv("category", b2))) return;
    if (!f.op.empty() && !any_of(f.op, rec.sv("op", b2))) return;
    if (f.pid && rec.i64("pid") != f.pid) return;
    if (!f.path_glob.empty()) {
      std::string_view p = rec.sv("path", b2), raw = rec.sv("raw_path", b3);
      if (!path_glob_match(f.path_glob, p) && !(raw.size() && path_glob_match(f.path_glob, raw))) return;
    }
    if (!f.addr.empty()) {
      std::string_view a = rec.sv("addr", b2);
      if (a != f.addr && !path_glob_match(f.addr, a) && a.substr(0, f.addr.size() + 1) != f.addr + ":") return;
    }
    if (!f.since.empty() || !f.until.empty()) {
      std::string_view ts = rec.sv("ts", b2);
      if (!f.since.empty() && ts < f.since) return;
      if (!f.until.empty() && ts > f.until) return;
    }
    ++shown;
    if (json) {
      // OCSF lines print as written too: the filters read their embedded v1 record.
      std::fwrite(line.text.data(), 1, line.text.size(), out);
      std::fputc('\n', out);
      return;
    }
    std::string seq = std::to_string(rec.i64("seq").value_or(0));
    std::string ts = rec.str("ts");
    if (event == "decision") {
      std::string target = rec.str("category") == "network" ? rec.str("addr") : rec.str("path");
      std::string rule = rec.get("rule") ? rule_text(rec) : rec.str("decision") == "allow" ? "" : "(default deny)";
      std::fprintf(out, "%-30s %7s %7lld %-10s %-8s %-7s %-11s %-44s %s\n", ts.c_str(), seq.c_str(),
                   static_cast<long long>(rec.i64("pid").value_or(0)), rec.str("decision").c_str(),
                   rec.str("category").c_str(), rec.str("op").c_str(), rec.str("syscall").c_str(),
                   clip(printable(target), 44).c_str(), printable(rule).c_str());
    } else {
      std::string detail;
      if (event == "process")
        detail = rec.str("what") + " " + printable(rec.str("exe")) +
                 (rec.i64("status") ? " status " + std::to_string(*rec.i64("status")) : "");
      else if (event == "session_start")
        detail = shell_join(rec.str_array("argv")) + "  (profile " + printable(rec.str("profile")) + ")";
      else if (event == "session_end")
        detail = "exit " + std::to_string(rec.i64("exit_status").value_or(-1));
      else if (event == "limit")
        detail = rec.str("which") + " " + rec.str("value");
      std::string pid = rec.i64("pid") ? std::to_string(*rec.i64("pid")) : "-";
      std::fprintf(out, "%-30s %7s %7s %-10s %s\n", ts.c_str(), seq.c_str(), pid.c_str(), std::string(event).c_str(),
                   detail.c_str());
    }
  });
  if (!ok) return 125;
  if (!json) std::fprintf(out, "(%llu records)\n", static_cast<unsigned long long>(shown));
  return 0;
}

}  // namespace guardian::audit
