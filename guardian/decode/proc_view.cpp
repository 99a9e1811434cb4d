// What the session sees of /proc/PID: its own processes as each sees itself, the others
// not at all unless the profile shows them.
//
// ps, pgrep, pkill, top and pidof list /proc and look at every PID in it (a stat of
// /proc/PID, then its stat, status and cmdline). Spec §2 gives a process its own /proc
// entries (base: /proc/self/**) and no other's: another user's command lines can hold
// passwords and tokens, and an agent's tools have no need of them. Within the session the
// processes are one another's own: they may signal and trace one another (process.cpp), so
// the rules on /proc/self answer for the /proc/PID of every process of the session, and a
// shell's `ps` or `pgrep` finds the jobs it started. Everything else is hidden as the
// kernel hides it under hidepid=invisible: ENOENT, which every /proc walker takes for a
// process that exited meanwhile and skips without a word; EACCES made ps print nothing
// useful and the summary list a hundred lines. Such a denial is logged (rule
// guardian:other-process) but never asked about, never killed for, and left out of the
// stderr summary: nothing failed. A profile that reads other processes' entries (for
// instance "/proc/*/stat", "/proc/*/status", "/proc/*/cmdline") shows them as natively;
// their memory, environment and descriptors stay refused (file_open.cpp, whatever the
// profile says).
#include <cerrno>
#include <string_view>

#include "decode/impl.hpp"

namespace guardian::decode {

namespace {

// N of "/proc/N" or "/proc/N/...", 0 for anything else (self, sys, net, a name).
pid_t proc_pid(std::string_view p) {
  if (p.substr(0, 6) != "/proc/") return 0;
  p.remove_prefix(6);
  pid_t n = 0;
  std::size_t i = 0;
  while (i < p.size() && p[i] >= '0' && p[i] <= '9' && i < 9) n = n * 10 + (p[i++] - '0');
  if (i == 0 || (i < p.size() && p[i] != '/')) return 0;
  return n;
}

}  // namespace

int Handler::Impl::proc_view(Ctx& c, const Resolved& r, policy::Request& req,
                             std::string_view raw, Response& out) {
  pid_t pid = proc_pid(r.path);
  if (pid <= 0) return -1;
  if (pid == c.tgid) return -1;  // the engine's own alias
  if (session.in_session(pid)) {
    req.pid = pid;  // a process (or thread) of the session: its entries answer to /proc/self
    return -1;
  }
  policy::Decision dec = d->decide(req);
  if (dec.verdict == policy::Verdict::allow) return -1;  // shown; the guarded files stay closed
  dec.err = ENOENT;
  hidden_rule.file = "guardian:other-process";
  hidden_rule.pattern.assign(r.path);
  dec.rule = &hidden_rule;
  hiding = true;
  bool go = apply(c, req, dec, raw, true, out);  // engine: the tip names the rule
  hiding = false;
  return go ? 1 : 0;
}

}  // namespace guardian::decode
