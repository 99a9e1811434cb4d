// `guardian audit tree`: each session's processes as a tree (parent -> children) with the
// program and argv each ran, its exit status and how many of its operations were allowed
// and denied.
#include <set>
#include <string>

#include "audit/digest.hpp"
#include "audit/review.hpp"

namespace guardian::audit {
namespace {

void print_node(const SessionDigest& s, const std::map<std::int64_t, std::vector<std::int64_t>>& kids,
                std::int64_t pid, const std::string& prefix, bool last, bool root, std::set<std::int64_t>& seen,
                std::FILE* out) {
  if (!seen.insert(pid).second) return;  // a cycle in hostile input: print each pid once
  const ProcInfo& p = s.procs.at(pid);
  std::string line = prefix;
  if (!root) line += last ? "└─ " : "├─ ";
  line += std::to_string(pid) + "  ";
  line += p.argv.empty() ? printable(p.exe.empty() ? "?" : p.exe) : shell_join(p.argv);
  if (!p.argv.empty() && !p.exe.empty() && p.argv[0] != p.exe && p.argv[0].find('/') == std::string::npos)
    line += "  [" + printable(p.exe) + "]";
  if (!p.images.empty()) line += "  (was " + printable(p.images.back()) + ")";
  if (p.status) line += "  exit " + std::to_string(*p.status);
  line += "  allow " + std::to_string(p.counts[0]) + "  deny " + std::to_string(p.counts[1] + p.counts[3]);
  if (p.counts[2]) line += "  would-deny " + std::to_string(p.counts[2]);
  std::fprintf(out, "%s\n", line.c_str());
  auto it = kids.find(pid);
  if (it == kids.end()) return;
  std::string child_prefix = prefix + (root ? "" : last ? "   " : "│  ");
  for (std::size_t i = 0; i < it->second.size(); ++i)
    print_node(s, kids, it->second[i], child_prefix, i + 1 == it->second.size(), false, seen, out);
}

}  // namespace

int tree(const std::vector<std::string>& files, std::FILE* out) {
  std::vector<SessionDigest> sessions;
  if (!digest_logs(files, sessions, false)) return 125;
  for (std::size_t n = 0; n < sessions.size(); ++n) {
    const SessionDigest& s = sessions[n];
    if (n) std::fputc('\n', out);
    std::fprintf(out, "session %s: %s\n", s.id.c_str(), shell_join(s.argv).c_str());
    std::map<std::int64_t, std::vector<std::int64_t>> kids;
    std::vector<std::int64_t> roots;
    for (const auto& [pid, p] : s.procs) {
      if (p.ppid != pid && s.procs.count(p.ppid))
        kids[p.ppid].push_back(pid);
      else
        roots.push_back(pid);
    }
    std::set<std::int64_t> seen;
    for (std::int64_t r : roots) print_node(s, kids, r, "", true, true, seen, out);
    // Processes only reachable through a cycle (hostile or broken input) still get shown.
    for (const auto& [pid, p] : s.procs)
      if (!seen.count(pid)) print_node(s, kids, pid, "", true, true, seen, out);
    if (s.procs.empty()) std::fputs("(no processes recorded)\n", out);
  }
  if (sessions.empty()) std::fputs("no audit records\n", out);
  return 0;
}

}  // namespace guardian::audit
