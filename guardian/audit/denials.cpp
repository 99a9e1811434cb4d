// DenialTally: the short account `guardian run` prints on stderr when no audit log was asked
// for, so that a user whose tool failed sees at once what guardian refused.
#include "audit/denials.hpp"

#include <algorithm>

#include "policy/profile.hpp"

namespace guardian::audit {
namespace {

// What a user needs to see first: a program that was not run, a file not written, a
// connection not made, a file not read. Stat/access probes come last: shells walking PATH
// and compilers searching include directories make many of them, and they rarely explain
// a failure.
std::size_t rank(policy::Op op) {
  switch (op) {
    case policy::Op::exec: return 0;
    case policy::Op::write: return 1;
    case policy::Op::connect:
    case policy::Op::bind: return 2;
    case policy::Op::read: return 3;
    case policy::Op::stat: return 5;
    default: return 4;
  }
}

// "read", "exec", "connect", ...; the op alone says it, except `other`, which needs its
// category ("process operation").
std::string label(policy::Category c, policy::Op op) {
  if (op == policy::Op::other) return std::string(policy::to_string(c)) + " operation";
  return std::string(policy::to_string(op));
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

void DenialTally::note(const DecisionRecord& d) {
  if (!d.summarise) return;
  (d.decision == policy::Verdict::would_deny ? would_ : denied_) += 1;
  if (d.decision == policy::Verdict::kill) ++killed_;
  if (d.op == policy::Op::exec && !d.rule) exec_unnamed_ = true;
  auto k = std::find_if(kinds_.begin(), kinds_.end(),
                        [&](const Kind& x) { return x.category == d.category && x.op == d.op; });
  if (k == kinds_.end()) kinds_.push_back(Kind{d.category, d.op, 1});
  else ++k->count;
  auto& ex = examples_[rank(d.op)];
  if (ex.size() >= kExamples) return;
  const std::string& target = d.category == policy::Category::network ? d.addr : d.path;
  std::string line = (d.listing ? std::string("list") : label(d.category, d.op)) + " " +
                     (target.empty() ? d.syscall : target);
  auto slash = d.exe.rfind('/');
  std::string exe = slash == std::string::npos ? d.exe : d.exe.substr(slash + 1);
  line += " (" + (exe.empty() ? "" : exe + ", ") + "pid " + std::to_string(d.pid);
  // A deny rule decided it (default's protection of .git/hooks, a secret's place): say
  // which, so the user sees that no allow rule can undo it.
  if (d.rule && !d.rule->file.empty())
    line += ", deny rule " + d.rule->file + ":" + std::to_string(d.rule->line) + " " + d.rule->pattern;
  if (d.decision == policy::Verdict::would_deny) line += ", would be denied";
  if (d.decision == policy::Verdict::kill) line += ", killed";
  line += ")";
  if (std::find(ex.begin(), ex.end(), line) == ex.end()) ex.push_back(std::move(line));
}

std::string DenialTally::text(const std::string& hint) const {
  if (denied_ + would_ == 0) return {};
  std::string s = "guardian: ";
  if (denied_) s += plural(denied_, "operation denied", "operations denied");
  // on_deny: kill ended the process that tried: say so, or its exit status is a mystery.
  if (killed_) s += " (" + plural(killed_, "process killed for it", "processes killed for them") + ", on_deny: kill)";
  if (denied_ && would_) s += ", ";
  if (would_) s += plural(would_, "operation would be denied", "operations would be denied");
  // Kinds in the order of the examples: what matters most first, then the most frequent.
  std::vector<Kind> kinds = kinds_;
  std::stable_sort(kinds.begin(), kinds.end(), [](const Kind& a, const Kind& b) {
    std::size_t ra = rank(a.op), rb = rank(b.op);
    return ra != rb ? ra < rb : a.count > b.count;
  });
  s += ": ";
  for (std::size_t i = 0; i < kinds.size(); ++i)
    s += (i ? ", " : "") + std::to_string(kinds[i].count) + " " + label(kinds[i].category, kinds[i].op);
  s += "\n";
  std::uint64_t shown = 0;
  for (const auto& rank_examples : examples_)
    for (const std::string& ex : rank_examples) {
      if (shown == kExamples) break;
      s += "guardian:   " + ex + "\n";
      ++shown;
    }
  if (denied_ + would_ > shown) s += "guardian:   ... and " + std::to_string(denied_ + would_ - shown) + " more\n";
  if (exec_unnamed_)
    s += "guardian: a program runs only where the profile's exec rules name it (default: what is "
         "installed, not what the session builds or downloads; -p node and -p python also run the "
         "programs of a project's node_modules and virtualenv); --allow-exec PATH adds one\n";
  s += "guardian: " + hint + "\n";
  return s;
}

}  // namespace guardian::audit
