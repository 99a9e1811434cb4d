// `guardian audit summary`: what each session ran, what it was allowed and denied, and
// which processes took part — readable text, or one JSON object per session.
#include <algorithm>
#include <string>

#include "audit/digest.hpp"
#include "audit/json.hpp"
#include "audit/review.hpp"

namespace guardian::audit {
namespace {

std::string counts_text(const std::array<std::uint64_t, 4>& c) {
  std::string s;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!c[i] && i != 0 && i != 1) continue;
    if (!s.empty()) s += "  ";
    s += std::string(kVerdictNames[i]) + " " + std::to_string(c[i]);
  }
  return s;
}

void text_session(const SessionDigest& s, std::size_t n, std::size_t total, std::FILE* out) {
  std::fprintf(out, "session %s (%zu of %zu)\n", s.id.c_str(), n, total);
  std::fprintf(out, "  command    %s\n", s.has_start ? shell_join(s.argv).c_str() : "(session_start missing)");
  if (s.has_start) {
    std::fprintf(out, "  profile    %s", printable(s.profile).c_str());
    if (!s.profile_sha256.empty()) std::fprintf(out, " (sha256 %.16s...)", s.profile_sha256.c_str());
    std::fprintf(out, "\n  mode       %s    backend %s    uid %lld\n", s.mode.c_str(), s.backend.c_str(),
                 static_cast<long long>(s.uid.value_or(-1)));
    std::fprintf(out, "  cwd        %s\n", printable(s.cwd).c_str());
  }
  std::fprintf(out, "  started    %s\n", s.first_ts.c_str());
  if (s.has_end) {
    std::fprintf(out, "  duration   %.3fs    exit %lld", s.duration_s.value_or(0),
                 static_cast<long long>(s.exit_status.value_or(-1)));
    if (s.signal) std::fprintf(out, " (signal %lld)", static_cast<long long>(*s.signal));
    std::fputc('\n', out);
  } else {
    std::fprintf(out, "  ended      (no session_end: still running or cut short; last record %s)\n", s.last_ts.c_str());
  }
  std::fprintf(out, "  records    %llu\n", static_cast<unsigned long long>(s.records));
  for (const auto& [which, value] : s.limits)
    std::fprintf(out, "  limit      %s reached (%s)\n", which.c_str(), value.c_str());
  std::fprintf(out, "\ndecisions    %s\n", counts_text(s.counts).c_str());
  if (!s.catops.empty()) {
    std::fputs("\nby category and op\n", out);
    for (const CatOp& c : s.catops)
      std::fprintf(out, "  %-8s %-8s %s\n", c.category.c_str(), c.op.c_str(), counts_text(c.counts).c_str());
  }
  std::vector<const DenialGroup*> d;
  for (const auto& g : s.denials) d.push_back(&g);
  std::stable_sort(d.begin(), d.end(), [](auto a, auto b) { return a->count > b->count; });
  std::fprintf(out, "\ndenials (%zu distinct)\n", d.size());
  if (!d.empty())
    std::fprintf(out, "  %7s  %-30s  %-10s  %-8s  %-40s  %s\n", "count", "first", "decision", "op", "target", "rule");
  for (const DenialGroup* g : d)
    std::fprintf(out, "  %7llu  %-30s  %-10s  %-8s  %-40s  %s\n", static_cast<unsigned long long>(g->count),
                 g->first_ts.c_str(), g->decision.c_str(), g->op.c_str(), printable(g->target).c_str(),
                 printable(g->rule).c_str());
  std::fprintf(out, "\nprocesses (%zu)\n", s.procs.size());
  for (const auto& [pid, p] : s.procs) {
    std::string cmd = p.argv.empty() ? printable(p.exe) : shell_join(p.argv);
    std::fprintf(out, "  %7lld  %s", static_cast<long long>(pid), cmd.c_str());
    if (p.status) std::fprintf(out, "    exit %lld", static_cast<long long>(*p.status));
    std::fputc('\n', out);
  }
}

void json_counts(json::ObjectWriter& w, std::string_view key, const std::array<std::uint64_t, 4>& c) {
  w.key(key);
  json::ObjectWriter o(w.out());
  for (std::size_t i = 0; i < c.size(); ++i) o.unum(kVerdictNames[i], c[i]);
  o.end();
}

void json_session(const SessionDigest& s, std::string& out) {
  json::ObjectWriter w(out);
  w.str("session", s.id);
  w.str_array("argv", s.argv);
  w.str("profile", s.profile);
  w.str("profile_sha256", s.profile_sha256);
  w.str("mode", s.mode);
  w.str("backend", s.backend);
  w.str("cwd", s.cwd);
  w.str("started", s.first_ts);
  w.boolean("complete", s.has_end);
  if (s.exit_status) w.num("exit_status", *s.exit_status);
  if (s.signal) w.num("signal", *s.signal);
  if (s.duration_s) w.dbl("duration_s", *s.duration_s);
  w.unum("records", s.records);
  json_counts(w, "counts", s.counts);
  w.key("by_category_op");
  out += '[';
  for (std::size_t i = 0; i < s.catops.size(); ++i) {
    if (i) out += ',';
    json::ObjectWriter c(out);
    c.str("category", s.catops[i].category);
    c.str("op", s.catops[i].op);
    json_counts(c, "counts", s.catops[i].counts);
    c.end();
  }
  out += ']';
  w.key("denials");
  out += '[';
  for (std::size_t i = 0; i < s.denials.size(); ++i) {
    const DenialGroup& g = s.denials[i];
    if (i) out += ',';
    json::ObjectWriter d(out);
    d.unum("count", g.count);
    d.str("first", g.first_ts);
    d.str("decision", g.decision);
    d.str("category", g.category);
    d.str("op", g.op);
    d.str("target", g.target);
    d.str("rule", g.rule);
    if (!g.tip.empty()) d.str("tip", g.tip);
    d.end();
  }
  out += ']';
  w.key("processes");
  out += '[';
  bool first = true;
  for (const auto& [pid, p] : s.procs) {
    if (!first) out += ',';
    first = false;
    json::ObjectWriter o(out);
    o.num("pid", pid);
    o.num("ppid", p.ppid);
    o.str("exe", p.exe);
    o.str_array("argv", p.argv);
    if (p.status) o.num("status", *p.status);
    json_counts(o, "counts", p.counts);
    o.end();
  }
  out += ']';
  w.end();
  out += '\n';
}

}  // namespace

int summary(const std::vector<std::string>& files, std::FILE* out, bool json) {
  std::vector<SessionDigest> sessions;
  RecordStreamStats st;
  if (!digest_logs(files, sessions, false, &st)) return 125;
  if (json) {
    std::string buf;
    for (const auto& s : sessions) json_session(s, buf);
    std::fputs(buf.c_str(), out);
  } else {
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      if (i) std::fputs("\n", out);
      text_session(sessions[i], i + 1, sessions.size(), out);
    }
    if (sessions.empty()) std::fputs("no audit records\n", out);
  }
  return 0;  // malformed lines were reported on stderr and skipped
}

}  // namespace guardian::audit
