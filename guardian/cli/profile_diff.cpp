// guardian profile diff A B: what B allows that A does not, and the reverse. Each rule of
// either profile is turned into witness paths (a wildcard becomes a name no literal rule
// uses, `**` both zero and two levels) that both compiled profiles then decide; settings
// and network rules are compared as written.
#include <cstdio>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cli/commands.hpp"
#include "cli/learn_support.hpp"

namespace guardian::cli {

namespace {

constexpr const char* kDiffUsage =
    "usage: guardian profile diff A B\n"
    "\n"
    "Prints what profile B allows that profile A does not ('+' lines), and what A allows\n"
    "that B does not ('-' lines), for files (read, write), exec and network, then the\n"
    "settings that differ. Paths are compared by deciding sample paths built from every\n"
    "rule of both profiles: a wildcard stands for a name no rule spells out.\n"
    "exit status: 0 when they allow the same, 1 when they differ, 125 on errors.\n";

constexpr const char* kAny = "guardian-any-name";

// Expands the first {a,b} group of a pattern, recursively.
void expand_braces(const std::string& p, std::vector<std::string>& out, int depth = 0) {
  auto open = p.find('{');
  auto close = open == std::string::npos ? std::string::npos : p.find('}', open);
  if (open == std::string::npos || close == std::string::npos || depth > 8) {
    out.push_back(p);
    return;
  }
  std::string head = p.substr(0, open), tail = p.substr(close + 1), alts = p.substr(open + 1, close - open - 1);
  std::size_t i = 0;
  while (true) {
    std::size_t j = alts.find(',', i);
    expand_braces(head + alts.substr(i, j == std::string::npos ? std::string::npos : j - i) + tail, out, depth + 1);
    if (j == std::string::npos) break;
    i = j + 1;
  }
}

// Sample concrete paths for one pattern.
std::vector<std::string> witnesses(const std::string& pattern) {
  std::vector<std::string> alts, out;
  expand_braces(pattern, alts);
  for (const auto& a : alts) {
    std::string zero, two;  // `**` as nothing (DIR itself) and as two levels
    bool has_globstar = false;
    std::size_t i = 0;
    while (i < a.size()) {
      if (a.compare(i, 2, "**") == 0) {
        has_globstar = true;
        if (!zero.empty() && zero.back() == '/' && (i + 2 == a.size())) zero.pop_back();
        two += std::string(kAny) + "/" + kAny;
        i += 2;
        if (i < a.size() && a[i] == '/' && !zero.empty() && zero.back() == '/') ++i, two += '/';
        continue;
      }
      std::string piece = a[i] == '*' ? kAny : a[i] == '?' ? "_" : std::string(1, a[i]);
      zero += piece;
      two += piece;
      ++i;
    }
    if (zero.empty()) zero = "/";
    out.push_back(two);
    if (has_globstar) out.push_back(zero);
  }
  return out;
}

struct Diff {
  std::set<std::tuple<std::string, std::string, std::string>> lines;  // (op, rule, where)
};

std::string where(const policy::RuleOrigin* r) {
  if (r == nullptr) return "";
  return r->file + ":" + std::to_string(r->line);
}

void compare_paths(const policy::Engine& a, const policy::Engine& b, const std::vector<std::string>& paths,
                   Diff& b_only, Diff& a_only) {
  const std::pair<policy::Op, const char*> ops[] = {
      {policy::Op::read, "read"}, {policy::Op::write, "write"}, {policy::Op::exec, "exec"}};
  for (const auto& p : paths) {
    for (const auto& [op, name] : ops) {
      policy::Request req;
      req.category = op == policy::Op::exec ? policy::Category::exec : policy::Category::file;
      req.op = op;
      req.path = p;
      req.lexical_path = p;
      auto da = a.decide(req), db = b.decide(req);
      bool ya = da.verdict == policy::Verdict::allow, yb = db.verdict == policy::Verdict::allow;
      if (yb && !ya && db.rule) b_only.lines.emplace(name, db.rule->pattern, where(db.rule));
      if (ya && !yb && da.rule) a_only.lines.emplace(name, da.rule->pattern, where(da.rule));
    }
  }
}

void net_diff(const std::vector<policy::NetRule>& a, const std::vector<policy::NetRule>& b, const char* what,
              Diff& b_only) {
  std::set<std::string> in_a;
  for (const auto& r : a) in_a.insert(r.text);
  for (const auto& r : b)
    if (!in_a.count(r.text)) b_only.lines.emplace(what, r.text, where(&r.origin));
}

void print(const char* sign, const Diff& d) {
  for (const auto& [op, rule, loc] : d.lines)
    std::printf("%s %-8s %s%s%s\n", sign, op.c_str(), rule.c_str(), loc.empty() ? "" : "  # ", loc.c_str());
}

}  // namespace

int profile_diff_main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      std::fputs(kDiffUsage, stdout);
      return 0;
    }
    if (s.size() > 1 && s[0] == '-') {
      std::fprintf(stderr, "guardian profile diff: unknown option '%s' (try 'guardian profile diff --help')\n", s.c_str());
      return kExitGuardianFailure;
    }
    files.push_back(s);
  }
  if (files.size() != 2) {
    std::fputs("guardian profile diff: expected two profiles, A and B (try 'guardian profile diff --help')\n", stderr);
    return kExitGuardianFailure;
  }
  policy::LoadContext ctx = learn_context();
  auto a = load_engine(files[0], ctx);
  auto b = load_engine(files[1], ctx);
  if (!a || !b) return kExitGuardianFailure;
  const policy::Profile& pa = a->profile();
  const policy::Profile& pb = b->profile();

  std::vector<std::string> paths;
  for (const policy::Profile* p : {&pa, &pb})
    for (const auto* list : {&p->read, &p->write, &p->deny, &p->exec_allow, &p->exec_deny})
      for (const auto& r : *list)
        for (auto& w : witnesses(r.pattern)) paths.push_back(std::move(w));
  Diff b_only, a_only;
  compare_paths(*a, *b, paths, b_only, a_only);
  net_diff(pa.connect, pb.connect, "connect", b_only);
  net_diff(pa.bind, pb.bind, "bind", b_only);
  net_diff(pb.net_deny, pa.net_deny, "net-deny", b_only);  // a deny only in A: B allows more
  net_diff(pb.connect, pa.connect, "connect", a_only);
  net_diff(pb.bind, pa.bind, "bind", a_only);
  net_diff(pa.net_deny, pb.net_deny, "net-deny", a_only);
  if (pa.dns != pb.dns) (pb.dns ? b_only : a_only).lines.emplace("dns", "true", "");
  if (pa.metadata != pb.metadata)
    (pb.metadata == policy::MetadataMode::open ? b_only : a_only).lines.emplace("metadata", "open", "");

  bool same = b_only.lines.empty() && a_only.lines.empty();
  if (same) {
    std::printf("%s and %s allow the same\n", files[0].c_str(), files[1].c_str());
    return 0;
  }
  std::printf("--- %s\n+++ %s\n", files[0].c_str(), files[1].c_str());
  if (!b_only.lines.empty()) std::printf("# allowed by %s only:\n", files[1].c_str());
  print("+", b_only);
  if (!a_only.lines.empty()) std::printf("# allowed by %s only:\n", files[0].c_str());
  print("-", a_only);
  return 1;
}

}  // namespace guardian::cli
