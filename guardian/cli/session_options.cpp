// Shared option handling of `guardian run` and `guardian learn`; one table, one meaning.
#include "cli/session_options.hpp"

#include <cstring>

#include "policy/values.hpp"

namespace po = boost::program_options;

namespace guardian::cli {

SplitArgs split_at_dashdash(int argc, char** argv) {
  SplitArgs s;
  for (int i = 1; i < argc; ++i) {
    if (!s.saw_dashdash && std::strcmp(argv[i], "--") == 0) {
      s.saw_dashdash = true;
      continue;
    }
    (s.saw_dashdash ? s.command : s.options).emplace_back(argv[i]);
  }
  return s;
}

SplitArgs split_command(int argc, char** argv, const po::options_description& desc) {
  SplitArgs s;
  int i = 1;
  for (; i < argc; ++i) {
    std::string w = argv[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (w.size() < 2 || w[0] != '-') break;  // the first word that is not an option
    s.options.push_back(w);
    // Does this option take the next word as its value (`-p NAME`, `--audit PATH`)?
    bool is_long = w[1] == '-';
    std::string key = is_long ? w.substr(2, w.find('=') == std::string::npos ? std::string::npos : w.find('=') - 2)
                              : w.substr(0, 2);
    bool attached = is_long ? w.find('=') != std::string::npos : w.size() > 2;
    const po::option_description* d = desc.find_nothrow(key, false, false, false);
    if (d && !attached && d->semantic()->max_tokens() > 0 && i + 1 < argc) s.options.emplace_back(argv[++i]);
  }
  // Everything from the command on is the command's, a later "--" included: `guardian run
  // echo -n hi` passes -n to echo, as env(1) and timeout(1) do.
  if (i < argc || (i > 1 && std::strcmp(argv[i - 1], "--") == 0)) s.saw_dashdash = true;
  for (; i < argc; ++i) s.command.emplace_back(argv[i]);
  return s;
}

std::string resolve_command(SplitArgs& args, const std::vector<std::string>& positional) {
  if (!args.saw_dashdash) args.command = positional;
  else if (!positional.empty()) return "unexpected argument '" + positional[0] + "' before '--'";
  return {};
}

std::string parse_sets(const std::vector<std::string>& words,
                       std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0) return "--set expects NAME=VALUE, not '" + w + "'";
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return {};
}

void add_session_options(po::options_description& desc, SessionOptionValues& v) {
  desc.add_options()
      ("backend", po::value(&v.backend), "")
      ("timeout", po::value(&v.timeout), "")
      ("memory", po::value(&v.memory), "")
      ("cpu", po::value(&v.cpu), "")
      ("pids", po::value(&v.pids), "")
      ("preload", "")
      ("no-preload", "");
}

std::string apply_session_options(const po::variables_map& vm, const SessionOptionValues& v,
                                  session::RunOptions& o) {
  if (v.backend == "auto") o.backend = session::Backend::auto_;
  else if (v.backend == "seccomp") o.backend = session::Backend::seccomp;
  else if (v.backend == "ptrace") o.backend = session::Backend::ptrace;
  else return "--backend must be auto, seccomp or ptrace, not '" + v.backend + "'";
  // One parser for the command line and the profile, so `--memory 100KB` means what
  // `limits: {memory: 100KB}` means.
  if (!v.timeout.empty() && !(o.limits.wall_s = policy::parse_duration(v.timeout)))
    return "--timeout: bad duration '" + v.timeout + "'";
  if (!v.cpu.empty() && !(o.limits.cpu_s = policy::parse_duration(v.cpu)))
    return "--cpu: bad duration '" + v.cpu + "'";
  if (!v.memory.empty() && !(o.limits.memory_bytes = policy::parse_size(v.memory)))
    return "--memory: bad size '" + v.memory + "'";
  if (vm.count("pids")) {
    if (v.pids == 0) return "--pids must be at least 1";
    o.limits.pids = v.pids;
  }
  if (vm.count("preload") && vm.count("no-preload")) return "--preload and --no-preload exclude each other";
  if (vm.count("preload")) o.preload = true;
  if (vm.count("no-preload")) o.preload = false;
  return {};
}

}  // namespace guardian::cli
