// Rendering of audit records to canonical JSON (format v1) and the SHA-256 hash chain.
#include "audit/record.hpp"

#include <string.h>

#include <cstdio>
#include <ctime>

#include "audit/json.hpp"
#include "policy/sha256.hpp"
#include "version.hpp"

namespace guardian::audit {
namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

void common(json::ObjectWriter& w, const Item& item, const RenderContext& ctx) {
  w.num("v", 1);
  w.key("ts");
  w.out() += '"';
  append_ts(w.out(), item.ts);
  w.out() += '"';
  w.unum("seq", ctx.seq);
  w.str("session", ctx.session);
  w.str("event", event_name(item));
}

bool is_standard_start_field(std::string_view k) {
  for (std::string_view s : {"v", "ts", "seq", "session", "event", "argv", "cwd", "profile", "profile_sha256",
                             "mode", "backend", "guardian_version", "uid", "hash"})
    if (k == s) return true;
  return false;
}

}  // namespace

void append_ts(std::string& out, const timespec& ts) {
  // The date part changes once a second: cache it (the writer formats ~1M records/s).
  thread_local time_t cached_sec = -1;
  thread_local char cached[24];
  if (ts.tv_sec != cached_sec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_sec = ts.tv_sec;
  }
  out += cached;
  char ns[11] = {'.', '0', '0', '0', '0', '0', '0', '0', '0', '0', 'Z'};
  long v = ts.tv_nsec;
  for (int i = 9; i >= 1; --i, v /= 10) ns[i] = static_cast<char>('0' + v % 10);
  out.append(ns, sizeof ns);
}

std::string_view event_name(const Item& item) {
  switch (item.body.index()) {
    case 0: return "session_start";
    case 1: return "decision";
    case 2: return "process";
    case 3: return "limit";
    default: return "session_end";
  }
}

void render_v1(const Item& item, const RenderContext& ctx, std::string& out) {
  json::ObjectWriter w(out);
  common(w, item, ctx);
  std::visit(
      Overload{
          [&](const SessionStart& s) {
            w.str_array("argv", s.argv);
            w.str("cwd", s.cwd);
            w.str("profile", s.profile);
            w.str("profile_sha256", s.profile_sha256);
            w.str("mode", s.mode);
            w.str("backend", s.backend);
            w.str("guardian_version", GUARDIAN_VERSION);
            w.unum("uid", s.uid);
            for (const auto& [k, v] : s.extra)
              if (!is_standard_start_field(k)) w.str(k, v);
          },
          [&](const DecisionRecord& d) {
            w.num("pid", d.pid);
            w.num("tid", d.tid);
            w.num("ppid", d.ppid);
            w.str("exe", d.exe);
            w.str("syscall", d.syscall);
            w.str("category", policy::to_string(d.category));
            w.str("op", policy::to_string(d.op));
            bool net = d.category == policy::Category::network;
            if (!net || !d.path.empty()) {
              w.str("path", d.path);
              w.str("raw_path", d.raw_path);
            }
            if (net || !d.addr.empty()) w.str("addr", d.addr);
            if (!d.host.empty()) w.str("host", d.host);
            w.str("decision", policy::to_string(d.decision));
            if (item.rule) {
              w.key("rule");
              json::ObjectWriter r(w.out());
              r.str("file", item.rule->file);
              r.num("line", item.rule->line);
              r.num("column", item.rule->column);
              r.str("pattern", item.rule->pattern);
              r.end();
            }
            // Every denial (spec §3: errno on denials), would-deny too: the errno enforce
            // mode would have returned, as its tip is the rule it would have needed.
            if (d.decision != policy::Verdict::allow) {
              w.num("errno", d.err);
              const char* name = d.err ? strerrorname_np(d.err) : nullptr;
              if (name) w.str("errno_name", name);
            }
            if (d.decision != policy::Verdict::allow && !d.tip.empty()) w.str("tip", d.tip);
            if (!d.argv.empty() || d.category == policy::Category::exec) w.str_array("argv", d.argv);
            if (!d.backtrace.empty()) w.str_array("backtrace", d.backtrace);
            w.str("via", d.via);
          },
          [&](const ProcessRecord& p) {
            w.num("pid", p.pid);
            w.num("ppid", p.ppid);
            w.str("what", p.what);
            w.str("exe", p.exe);
            if (!p.argv.empty()) w.str_array("argv", p.argv);
            if (p.status)
              w.num("status", *p.status);
            else
              w.null("status");
          },
          [&](const LimitRecord& l) {
            w.str("which", l.which);
            w.str("value", l.value);
          },
          [&](const SessionEnd& e) {
            w.num("exit_status", e.exit_status);
            if (e.signal)
              w.num("signal", *e.signal);
            else
              w.null("signal");
            w.dbl("duration_s", e.duration_s);
            w.key("counts");
            {
              json::ObjectWriter c(w.out());
              c.unum("allow", ctx.counts[0]);
              c.unum("deny", ctx.counts[1]);
              c.unum("would-deny", ctx.counts[2]);
              c.unum("kill", ctx.counts[3]);
              c.end();
            }
            w.key("usage");
            {
              json::ObjectWriter u(w.out());
              for (const auto& [k, v] : e.usage) u.unum(k, v);
              u.end();
            }
            w.unum("records", ctx.seq);
            w.str("final_hash", ctx.prev_hash);
          },
      },
      item.body);
  w.end();
}

std::string chain_hash(std::string_view prev_hex, std::string_view canonical) {
  policy::Sha256 h;
  h.update(prev_hex);
  h.update(canonical);
  return h.hex();
}

std::string chain_hash_body(std::string_view prev_hex, std::string_view body) {
  policy::Sha256 h;
  h.update(prev_hex);
  h.update(body);
  h.update("}");
  return h.hex();
}

void append_hash_field(std::string& text, std::string_view hash_hex) {
  text.pop_back();  // the closing '}'
  text += ",\"hash\":\"";
  text += hash_hex;
  text += "\"}";
}

bool split_hashed_line(std::string_view line, std::string_view& body, std::string_view& hash) {
  if (line.size() < kHashSuffixLen + 1) return false;
  std::string_view suffix = line.substr(line.size() - kHashSuffixLen);
  if (suffix.substr(0, 9) != ",\"hash\":\"" || suffix.substr(73) != "\"}") return false;
  hash = suffix.substr(9, 64);
  for (char c : hash)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  body = line.substr(0, line.size() - kHashSuffixLen);
  return true;
}

}  // namespace guardian::audit
