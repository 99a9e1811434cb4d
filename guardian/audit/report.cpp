// `guardian audit report`: one self-contained HTML page per log (inline CSS and JS, no
// network): session header, decision timeline (SVG), process tree, and a sortable,
// filterable denials table. Everything is rendered in the HTML itself; the script only
// sorts and filters, so the page reads the same with scripts off.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "audit/digest.hpp"
#include "audit/review.hpp"

namespace guardian::audit {
namespace {

constexpr std::size_t kMaxDenialRows = 5000, kMaxTreeNodes = 3000;

// HTML text of arbitrary bytes: controls and invalid UTF-8 shown as escapes, newlines kept
// (tips are multi-line YAML).
std::string h(std::string_view s) {
  std::string in, out;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = s.find('\n', start);
    in += printable(s.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    in += '\n';
    start = nl + 1;
  }
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

constexpr const char* kStyle = R"CSS(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:8px 24px 40px}section.session{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 20px;margin:16px 0}
h2{font-size:17px;margin:6px 0 10px}h3{font-size:15px;margin:18px 0 8px}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
table.kv th{text-align:left;padding:2px 16px 2px 0;color:#5b6474;font-weight:600}table.kv td{padding:2px 0}
.counts{display:flex;gap:10px;flex-wrap:wrap}.count{border-radius:6px;padding:6px 12px;background:#eef0f3}
.count b{font-size:18px;margin-left:6px}.allow{background:#e3f4e8}.deny{background:#fbe3e3}.would-deny{background:#fff1d6}.kill{background:#f3d9f7}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:18px}ul.tree{padding-left:0}ul.tree li{margin:2px 0}
.proc .pid{color:#5b6474}.badge{display:inline-block;border-radius:4px;padding:0 6px;margin-left:6px;font-size:12px}
table.denials{border-collapse:collapse;width:100%;margin-top:8px}table.denials th,table.denials td{border-bottom:1px solid #e6e8ec;padding:4px 8px;text-align:left;vertical-align:top}
table.denials th{cursor:pointer;background:#f0f2f5;user-select:none;white-space:nowrap}table.denials th.sorted-asc::after{content:" \25B2"}table.denials th.sorted-desc::after{content:" \25BC"}
table.denials td.num{text-align:right}table.denials td code,table.denials td.mono{overflow-wrap:anywhere}table.denials td:nth-child(2){white-space:nowrap}input.filter{padding:5px 8px;width:320px;border:1px solid #c5cbd4;border-radius:5px}
.muted{color:#6b7382}svg .a{fill:#4caf72}svg .d{fill:#d9534f}svg .w{fill:#f0ad4e}svg .k{fill:#9c4dcc}svg text{font-size:10px;fill:#6b7382}
pre.tip{margin:0;white-space:pre-wrap}
)CSS";

constexpr const char* kScript = R"JS(
(function(){
  function cellValue(td){var v=td.getAttribute('data-v');return v!==null?v:td.textContent;}
  document.querySelectorAll('table.denials').forEach(function(table){
    var tbody=table.tBodies[0],ths=table.tHead.rows[0].cells,state={col:-1,dir:1};
    Array.prototype.forEach.call(ths,function(th,i){th.addEventListener('click',function(){
      state.dir=(state.col===i)?-state.dir:(th.getAttribute('data-type')==='num'?-1:1);state.col=i;
      var rows=Array.prototype.slice.call(tbody.rows),num=th.getAttribute('data-type')==='num';
      rows.sort(function(a,b){var x=cellValue(a.cells[i]),y=cellValue(b.cells[i]);
        if(num){x=parseFloat(x)||0;y=parseFloat(y)||0;return (x-y)*state.dir;}return x.localeCompare(y)*state.dir;});
      rows.forEach(function(r){tbody.appendChild(r);});
      Array.prototype.forEach.call(ths,function(t){t.classList.remove('sorted-asc','sorted-desc');});
      th.classList.add(state.dir>0?'sorted-asc':'sorted-desc');});});
    var input=document.getElementById(table.getAttribute('data-filter')),shown=document.getElementById(table.getAttribute('data-shown'));
    function apply(){var q=input.value.toLowerCase(),n=0;
      Array.prototype.forEach.call(tbody.rows,function(r){var hit=!q||r.textContent.toLowerCase().indexOf(q)>=0;r.style.display=hit?'':'none';if(hit)n++;});
      shown.textContent=n+' of '+tbody.rows.length+' shown';}
    input.addEventListener('input',apply);
    var m=/[#&]filter=([^&]*)/.exec(location.hash);if(m)input.value=decodeURIComponent(m[1]);
    apply();
  });
})();
)JS";

void timeline_svg(const SessionDigest& s, std::string& o) {
  if (s.timeline.empty()) {
    o += "<p class=\"muted\">No decisions recorded.</p>\n";
    return;
  }
  constexpr int kBins = 60, kW = 720, kH = 110, kBar = kW / kBins;
  std::int64_t t0 = s.timeline.front().first, t1 = t0;
  for (const auto& [t, v] : s.timeline) t0 = std::min(t0, t), t1 = std::max(t1, t);
  std::int64_t span = std::max<std::int64_t>(t1 - t0, 1);
  std::vector<std::array<std::uint64_t, 4>> bins(kBins);
  for (const auto& [t, v] : s.timeline) {
    auto b = static_cast<std::size_t>((t - t0) * (kBins - 1) / span);
    ++bins[std::min<std::size_t>(b, kBins - 1)][static_cast<std::size_t>(v)];
  }
  std::uint64_t peak = 1;
  for (const auto& b : bins) peak = std::max(peak, b[0] + b[1] + b[2] + b[3]);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "<svg id=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                "aria-label=\"decisions over time\">",
                kW, kH + 16, kW, kH + 16);
  o += buf;
  static constexpr const char* kCls[4] = {"a", "d", "w", "k"};
  for (int i = 0; i < kBins; ++i) {
    double y = kH;
    for (int v : {0, 2, 1, 3}) {
      if (!bins[i][v]) continue;
      double hgt = static_cast<double>(bins[i][v]) * kH / static_cast<double>(peak);
      y -= hgt;
      std::snprintf(buf, sizeof buf,
                    "<rect class=\"%s\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"><title>%llu %s</title></rect>",
                    kCls[v], i * kBar, y, kBar - 1, hgt, static_cast<unsigned long long>(bins[i][v]), kVerdictNames[v]);
      o += buf;
    }
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"0\" y=\"%d\">+0 s</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">+%.3f s</text></svg>\n",
                kH + 13, kW, kH + 13, static_cast<double>(span) / 1e9);
  o += buf;
}

void tree_html(const SessionDigest& s, std::string& o) {
  std::map<std::int64_t, std::vector<std::int64_t>> kids;
  std::vector<std::int64_t> roots;
  for (const auto& [pid, p] : s.procs) {
    if (p.ppid != pid && s.procs.count(p.ppid)) kids[p.ppid].push_back(pid);
    else roots.push_back(pid);
  }
  std::set<std::int64_t> seen;
  std::size_t nodes = 0;
  // Iterative depth-first walk: hostile logs can nest deeper than the stack should go.
  struct Frame { std::int64_t pid; bool close; };
  std::vector<Frame> stack;
  o += "<ul class=\"tree\" id=\"process-tree\">";
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({*it, false});
  while (!stack.empty()) {
    Frame f = stack.back();
    stack.pop_back();
    if (f.close) { o += "</ul></li>"; continue; }
    if (!seen.insert(f.pid).second || ++nodes > kMaxTreeNodes) continue;
    const ProcInfo& p = s.procs.at(f.pid);
    o += "<li class=\"proc\"><span class=\"pid mono\">" + std::to_string(f.pid) + "</span> <code>" +
         h(p.argv.empty() ? p.exe : shell_join(p.argv)) + "</code>";
    if (p.status) o += "<span class=\"badge\">exit " + std::to_string(*p.status) + "</span>";
    o += "<span class=\"badge allow\">allow " + std::to_string(p.counts[0]) + "</span>";
    if (p.counts[1] + p.counts[3]) o += "<span class=\"badge deny\">deny " + std::to_string(p.counts[1] + p.counts[3]) + "</span>";
    if (p.counts[2]) o += "<span class=\"badge would-deny\">would-deny " + std::to_string(p.counts[2]) + "</span>";
    auto k = kids.find(f.pid);
    if (k == kids.end()) { o += "</li>"; continue; }
    o += "<ul>";
    stack.push_back({f.pid, true});
    for (auto c = k->second.rbegin(); c != k->second.rend(); ++c) stack.push_back({*c, false});
  }
  o += "</ul>\n";
  if (nodes > kMaxTreeNodes) o += "<p class=\"muted\">Only the first " + std::to_string(kMaxTreeNodes) + " processes are shown.</p>\n";
  if (s.procs.empty()) o += "<p class=\"muted\">No processes recorded.</p>\n";
}

void session_html(const SessionDigest& s, std::size_t n, std::string& o) {
  std::string id = std::to_string(n);
  o += "<section class=\"session\" id=\"session-" + id + "\">\n<h2>Session <code>" + h(s.id) + "</code></h2>\n";
  o += "<table class=\"kv\">";
  auto row = [&](const char* k, const std::string& v) { o += "<tr><th>" + std::string(k) + "</th><td>" + v + "</td></tr>"; };
  row("Command", "<code>" + h(shell_join(s.argv)) + "</code>");
  row("Profile", h(s.profile) + (s.profile_sha256.empty() ? "" : " <span class=\"muted mono\">sha256 " + h(s.profile_sha256.substr(0, 16)) + "…</span>"));
  row("Mode / backend", h(s.mode) + " / " + h(s.backend));
  row("Working directory", "<code>" + h(s.cwd) + "</code>");
  row("Started", h(s.first_ts));
  if (s.has_end) {
    char d[64];
    std::snprintf(d, sizeof d, "%.3f s", s.duration_s.value_or(0));
    row("Duration", d);
    row("Exit status", "<span id=\"exit-" + id + "\">" + std::to_string(s.exit_status.value_or(-1)) + "</span>" +
                           (s.signal ? " (signal " + std::to_string(*s.signal) + ")" : ""));
  } else {
    row("Ended", "<b>no session_end</b>: the log is incomplete");
  }
  row("Records", "<span id=\"records-" + id + "\">" + std::to_string(s.records) + "</span>");
  for (const auto& [which, value] : s.limits) row("Limit reached", h(which) + " " + h(value));
  o += "</table>\n<h3>Decisions</h3>\n<div class=\"counts\">";
  for (std::size_t v = 0; v < 4; ++v)
    o += "<span class=\"count " + std::string(kVerdictNames[v]) + "\">" + kVerdictNames[v] + "<b id=\"count-" +
         kVerdictNames[v] + "-" + id + "\">" + std::to_string(s.counts[v]) + "</b></span>";
  o += "</div>\n<h3>Timeline</h3>\n";
  timeline_svg(s, o);
  o += "<h3>Processes (" + std::to_string(s.procs.size()) + ")</h3>\n";
  tree_html(s, o);

  std::vector<const DenialGroup*> d;
  for (const auto& g : s.denials) d.push_back(&g);
  std::stable_sort(d.begin(), d.end(), [](auto a, auto b) { return a->count > b->count; });
  o += "<h3>Denials (<span id=\"denial-groups-" + id + "\">" + std::to_string(d.size()) + "</span> distinct)</h3>\n";
  o += "<input class=\"filter\" id=\"filter-" + id + "\" type=\"search\" placeholder=\"filter denials (path, rule, op...)\"> "
       "<span class=\"muted\" id=\"shown-" + id + "\">" + std::to_string(std::min(d.size(), kMaxDenialRows)) + " of " +
       std::to_string(std::min(d.size(), kMaxDenialRows)) + " shown</span>\n";
  o += "<table class=\"denials\" id=\"denials-" + id + "\" data-filter=\"filter-" + id + "\" data-shown=\"shown-" + id +
       "\"><thead><tr><th data-type=\"num\">Count</th><th>First</th><th>Decision</th><th>Category</th><th>Op</th>"
       "<th>Path / address</th><th>Rule</th><th>Program</th><th>Tip</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < d.size() && i < kMaxDenialRows; ++i) {
    const DenialGroup& g = *d[i];
    std::string when = g.first_ts.size() > 23 ? g.first_ts.substr(11, 12) : g.first_ts;  // HH:MM:SS.mmm
    o += "<tr><td class=\"num\">" + std::to_string(g.count) + "</td><td class=\"mono\" data-v=\"" + h(g.first_ts) +
         "\" title=\"" + h(g.first_ts) + "\">" + h(when) + "</td><td>" + h(g.decision) + (g.errno_name.empty() ? "" : " <span class=\"muted\">" + h(g.errno_name) + "</span>") +
         "</td><td>" + h(g.category) + "</td><td>" + h(g.op) + "</td><td><code>" + h(g.target) +
         "</code></td><td class=\"mono\">" + h(g.rule) + "</td><td class=\"mono\">" + h(g.exe) +
         "</td><td><pre class=\"tip mono\">" + h(g.tip) + "</pre></td></tr>\n";
  }
  o += "</tbody></table>\n";
  if (d.size() > kMaxDenialRows)
    o += "<p class=\"muted\">The " + std::to_string(kMaxDenialRows) + " most frequent of " + std::to_string(d.size()) +
         " distinct denials are listed; <code>guardian audit query --decision deny</code> lists all.</p>\n";
  o += "</section>\n";
}

}  // namespace

int report(const std::vector<std::string>& files, const std::string& output) {
  std::vector<SessionDigest> sessions;
  if (!digest_logs(files, sessions, true)) return 125;
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'; img-src data:\">"
       "<title>guardian audit report</title><style>";
  o += kStyle;
  o += "</style></head><body>\n<header><h1>guardian audit report</h1><div>";
  std::string names;
  for (const auto& f : files) names += (names.empty() ? "" : ", ") + f;
  o += h(names) + " &middot; <span id=\"session-count\">" + std::to_string(sessions.size()) + "</span> session" +
       (sessions.size() == 1 ? "" : "s") + "</div></header>\n<main>\n";
  for (std::size_t i = 0; i < sessions.size(); ++i) session_html(sessions[i], i, o);
  if (sessions.empty()) o += "<p>No audit records.</p>\n";
  o += "</main>\n<script>";
  o += kScript;
  o += "</script>\n</body></html>\n";
  std::FILE* f = output == "-" ? stdout : std::fopen(output.c_str(), "we");
  if (!f) {
    std::fprintf(stderr, "guardian: cannot write report '%s': %s\n", output.c_str(), std::strerror(errno));
    return 125;
  }
  bool ok = std::fwrite(o.data(), 1, o.size(), f) == o.size();
  ok = (f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0) && ok;
  if (!ok) {
    std::fprintf(stderr, "guardian: cannot write report '%s': %s\n", output.c_str(), std::strerror(errno));
    return 125;
  }
  return 0;
}

}  // namespace guardian::audit
