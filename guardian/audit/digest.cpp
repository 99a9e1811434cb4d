// The shared streaming aggregation behind summary, tree and report.
#include "audit/digest.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "audit/json.hpp"

namespace guardian::audit {
namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

int verdict_index(std::string_view d) {
  if (d == "allow") return 0;
  if (d == "deny") return 1;
  if (d == "would-deny") return 2;
  if (d == "kill") return 3;
  return -1;
}

std::optional<std::int64_t> parse_ts(std::string_view ts) {
  int y, mo, d, h = 0, mi = 0, s = 0;
  if (!digits(ts, 0, 4, y) || ts.size() < 10 || ts[4] != '-' || !digits(ts, 5, 2, mo) || ts[7] != '-' ||
      !digits(ts, 8, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  std::size_t p = 10;
  std::int64_t ns = 0;
  if (p < ts.size() && (ts[p] == 'T' || ts[p] == 't' || ts[p] == ' ')) {
    if (!digits(ts, p + 1, 2, h) || ts.size() < p + 6 || ts[p + 3] != ':' || !digits(ts, p + 4, 2, mi))
      return std::nullopt;
    p += 6;
    if (p < ts.size() && ts[p] == ':') {
      if (!digits(ts, p + 1, 2, s)) return std::nullopt;
      p += 3;
      if (p < ts.size() && ts[p] == '.') {
        ++p;
        std::int64_t scale = 100000000;
        while (p < ts.size() && ts[p] >= '0' && ts[p] <= '9') {
          ns += (ts[p] - '0') * scale;
          scale /= 10;
          ++p;
        }
      }
    }
  }
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::int64_t offset = 0;
  if (p < ts.size()) {
    if (ts[p] == 'Z' || ts[p] == 'z') {
      ++p;
    } else if (ts[p] == '+' || ts[p] == '-') {
      int oh, om;
      if (!digits(ts, p + 1, 2, oh) || ts.size() < p + 6 || ts[p + 3] != ':' || !digits(ts, p + 4, 2, om))
        return std::nullopt;
      offset = (oh * 3600 + om * 60) * (ts[p] == '+' ? 1 : -1);
      p += 6;
    }
  }
  if (p != ts.size()) return std::nullopt;
  std::int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
                      mi * 60 + s - offset;
  // Nanoseconds since 1970 fit in 64 bits until 2262: saturate beyond (still orders right).
  constexpr std::int64_t kMaxSecs = INT64_MAX / 1000000000 - 1;
  if (secs > kMaxSecs) return kMaxSecs * 1000000000;
  if (secs < -kMaxSecs) return -kMaxSecs * 1000000000;
  return secs * 1000000000 + ns;
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty();
    for (unsigned char c : a)
      if (!(std::isalnum(c) || std::string_view("/._-+=:,@%").find(static_cast<char>(c)) != std::string_view::npos))
        plain = false;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) {
      if (c == '\'') out += "'\\''";
      else out += c;
    }
    out += '\'';
  }
  return printable(out);
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != 0x7f && c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    if (c >= 0x80) {
      // keep valid UTF-8 sequences; json::append_string knows which are valid
      std::string probe;
      std::size_t n = 1;
      while (n < 4 && i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
      json::append_string(probe, s.substr(i, n));
      if (probe.find("\\u") == std::string::npos) {
        out.append(s.data() + i, n);
        i += n - 1;
        continue;
      }
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string rule_text(const Record& rec) {
  const Value* v = rec.get("rule");
  if (!v || v->type != Value::Type::object) return "(no rule: default deny)";
  Record r;
  std::string err;
  if (!r.parse(v->text, err)) return "(unreadable rule)";
  std::string s = r.str("file");
  if (auto line = r.i64("line")) s += ":" + std::to_string(*line);
  s += " " + r.str("pattern");
  return s;
}

bool digest_logs(const std::vector<std::string>& files, std::vector<SessionDigest>& out, bool with_timeline,
                 RecordStreamStats* stats) {
  std::unordered_map<std::string, std::size_t> index;
  std::string cur_id, b1, b2, b3, b4, b5;
  SessionDigest* cur = nullptr;
  return for_each_record(
      files,
      [&](const LineRef&, const Record& rec) {
        std::string_view id = rec.sv("session", b1);
        if (!cur || id != cur_id) {
          cur_id.assign(id);
          auto it = index.find(cur_id);
          if (it == index.end()) {
            it = index.emplace(cur_id, out.size()).first;
            out.emplace_back();
            out.back().id = cur_id;
          }
          cur = &out[it->second];
        }
        SessionDigest& s = *cur;
        ++s.records;
        std::string_view ts = rec.sv("ts", b2);
        if (s.first_ts.empty()) s.first_ts.assign(ts);
        s.last_ts.assign(ts);
        std::string_view event = rec.sv("event", b3);
        if (event == "decision") {
          int v = verdict_index(rec.sv("decision", b4));
          if (v < 0) return;
          ++s.counts[v];
          auto pid = rec.i64("pid").value_or(0);
          ProcInfo& p = s.procs[pid];
          if (p.pid == 0) {
            p.pid = pid;
            p.ppid = rec.i64("ppid").value_or(0);
            p.exe = rec.str("exe");
          }
          ++p.counts[v];
          std::string_view cat = rec.sv("category", b4), op = rec.sv("op", b5);
          auto co = std::find_if(s.catops.begin(), s.catops.end(),
                                 [&](const CatOp& c) { return c.category == cat && c.op == op; });
          if (co == s.catops.end()) {
            s.catops.push_back(CatOp{std::string(cat), std::string(op), {}});
            co = s.catops.end() - 1;
          }
          ++co->counts[v];
          // An allowed exec changes the process's image; process records, when present, agree.
          if (cat == "exec" && v != 1 && v != 3) {
            std::string path = rec.str("path");
            if (!p.exe.empty() && p.exe != path && !p.argv.empty()) p.images.push_back(p.exe);
            if (!path.empty()) p.exe = std::move(path);
            auto argv = rec.str_array("argv");
            if (!argv.empty()) p.argv = std::move(argv);
          }
          if (with_timeline)
            if (auto ns = parse_ts(ts)) s.timeline.emplace_back(*ns, v);
          if (v == 0) return;
          std::string target = cat == "network" ? rec.str("addr") : rec.str("path");
          std::string rule = rule_text(rec);
          std::string key = std::string(cat) + '\0' + std::string(op) + '\0' + target + '\0' + rule + '\0' +
                            kVerdictNames[v];
          auto [it, fresh] = s.denial_index.emplace(key, s.denials.size());
          if (fresh) {
            DenialGroup g;
            g.category = cat;
            g.op = op;
            g.target = std::move(target);
            g.rule = std::move(rule);
            g.decision = kVerdictNames[v];
            g.first_ts = ts;
            g.tip = rec.str("tip");
            g.exe = rec.str("exe");
            g.errno_name = rec.str("errno_name");
            s.denials.push_back(std::move(g));
          }
          DenialGroup& g = s.denials[it->second];
          ++g.count;
          if (g.pids.size() < 5 && std::find(g.pids.begin(), g.pids.end(), pid) == g.pids.end())
            g.pids.push_back(pid);
        } else if (event == "process") {
          auto pid = rec.i64("pid").value_or(0);
          ProcInfo& p = s.procs[pid];
          p.pid = pid;
          if (auto pp = rec.i64("ppid"); pp && *pp) p.ppid = *pp;
          std::string_view what = rec.sv("what", b4);
          std::string exe = rec.str("exe");
          if (what == "exec" || (what == "spawn" && p.exe.empty())) {
            bool known = what == "exec" && !p.argv.empty() && p.exe == exe;  // already seen via its decision
            if (known) return;
            if (what == "exec" && !p.exe.empty() && p.exe != exe && !p.argv.empty()) p.images.push_back(p.exe);
            if (!exe.empty()) p.exe = exe;
            auto argv = rec.str_array("argv");
            if (!argv.empty()) p.argv = std::move(argv);
          } else if (what == "exit") {
            p.status = rec.i64("status");
          }
        } else if (event == "session_start") {
          s.has_start = true;
          s.argv = rec.str_array("argv");
          s.cwd = rec.str("cwd");
          s.profile = rec.str("profile");
          s.profile_sha256 = rec.str("profile_sha256");
          s.mode = rec.str("mode");
          s.backend = rec.str("backend");
          s.version = rec.str("guardian_version");
          s.uid = rec.i64("uid");
        } else if (event == "session_end") {
          s.has_end = true;
          s.exit_status = rec.i64("exit_status");
          s.signal = rec.i64("signal");
          s.duration_s = rec.f64("duration_s");
        } else if (event == "limit") {
          s.limits.emplace_back(rec.str("which"), rec.str("value"));
        }
      },
      stats);
}

}  // namespace guardian::audit
