// guardian run: parse the options of spec §1 into session::RunOptions and run the session.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "audit/options.hpp"
#include "cli/commands.hpp"
#include "session/run_session.hpp"

namespace po = boost::program_options;

namespace guardian::cli {

namespace {

constexpr const char* kRunUsage =
    "usage: guardian run [options] -- COMMAND [ARG...]\n"
    "\n"
    "Runs COMMAND under a profile: every file, exec and network syscall of it and its\n"
    "children is decided by the profile, and no process of it outlives guardian.\n"
    "\n"
    "options:\n"
    "  -p, --profile FILE|NAME   YAML profile or built-in name (default: default)\n"
    "      --mode enforce|complain\n"
    "                            complain: block nothing, log would-deny\n"
    "      --backend auto|seccomp|ptrace\n"
    "                            interception mechanism (default: auto)\n"
    "  -a, --audit PATH|-|syslog|journald\n"
    "                            audit log (JSON Lines); - is stderr\n"
    "      --audit-format jsonl|ocsf\n"
    "                            guardian's records (default) or OCSF 1.1 events\n"
    "      --audit-rotate SIZE   start a new audit file past SIZE (e.g. 100M)\n"
    "      --allow-read P        add a read rule (repeatable)\n"
    "      --allow-write P       add a write rule (repeatable)\n"
    "      --allow-exec P        add an exec rule (repeatable)\n"
    "      --allow-connect ADDR  add a connect rule (repeatable)\n"
    "      --set NAME=VALUE      set a profile variable (repeatable)\n"
    "      --timeout D           wall-time limit (e.g. 30s, 10m, 1h)\n"
    "      --memory S            memory limit (e.g. 512M, 2GiB)\n"
    "      --cpu D               CPU-time limit\n"
    "      --pids N              limit on the number of processes\n"
    "      --preload, --no-preload\n"
    "                            inject the LD_PRELOAD shim (call-site backtraces and\n"
    "                            host names in the audit log; default) or not\n"
    "      --fast-path           cooperative mode: the shim decides hooked libc calls\n"
    "                            in-process (faster; not a boundary against native code\n"
    "                            that attacks guardian itself)\n"
    "      --no-landlock         do not add the Landlock envelope\n"
    "      --ask                 hold undecided requests for a human's answer\n"
    "      --ask-socket PATH     ask through a JSON Lines socket instead of the terminal\n"
    "      --ask-save FILE       save \"always\" answers to a profile overlay\n"
    "  -h, --help                show this help\n"
    "\n"
    "exit status: the command's own; 128+N if it died of signal N; 124 time limit;\n"
    "125 guardian failed; 126 command cannot be executed; 127 command not found.\n";

// "1.5", "30s", "10m", "1h", "250ms" -> seconds; false on anything else.
bool parse_duration(const std::string& s, double& out) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v) || v <= 0) return false;
  std::string unit(end);
  if (unit.empty() || unit == "s") out = v;
  else if (unit == "ms") out = v / 1000;
  else if (unit == "m" || unit == "min") out = v * 60;
  else if (unit == "h") out = v * 3600;
  else return false;
  return true;
}

// "4096", "512K", "512M", "2G", "2GiB", "1T" -> bytes (powers of 1024); false otherwise.
bool parse_size(const std::string& s, std::uint64_t& out) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v) || v <= 0) return false;
  std::string unit(end);
  double mult = 1;
  if (!unit.empty()) {
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0])));
    std::string rest = unit.substr(1);
    if (rest != "" && rest != "B" && rest != "iB" && rest != "b") return false;
    switch (u) {
      case 'B': if (!rest.empty()) return false; break;
      case 'K': mult = 1024.0; break;
      case 'M': mult = 1024.0 * 1024; break;
      case 'G': mult = 1024.0 * 1024 * 1024; break;
      case 'T': mult = 1024.0 * 1024 * 1024 * 1024; break;
      default: return false;
    }
  }
  out = static_cast<std::uint64_t>(v * mult);
  return out > 0;
}

int bad(const std::string& msg) {
  std::fprintf(stderr, "guardian run: %s (try 'guardian run --help')\n", msg.c_str());
  return kExitGuardianFailure;
}

}  // namespace

int run_main(int argc, char** argv) {
  // Everything after the first "--" is the command, untouched by option parsing.
  std::vector<std::string> opts_args, command;
  bool saw_dashdash = false;
  for (int i = 1; i < argc; ++i) {
    if (!saw_dashdash && std::strcmp(argv[i], "--") == 0) {
      saw_dashdash = true;
      continue;
    }
    (saw_dashdash ? command : opts_args).emplace_back(argv[i]);
  }

  std::string profile = "default", mode = "enforce", backend = "auto", audit;
  std::vector<std::string> allow_read, allow_write, allow_exec, allow_connect, sets;
  std::string timeout, memory, cpu, ask_socket, ask_save;
  std::uint32_t pids = 0;
  po::options_description desc;
  desc.add_options()
      ("help,h", "")
      ("profile,p", po::value(&profile), "")
      ("mode", po::value(&mode), "")
      ("backend", po::value(&backend), "")
      ("audit,a", po::value(&audit), "")
      ("allow-read", po::value(&allow_read)->composing(), "")
      ("allow-write", po::value(&allow_write)->composing(), "")
      ("allow-exec", po::value(&allow_exec)->composing(), "")
      ("allow-connect", po::value(&allow_connect)->composing(), "")
      ("set", po::value(&sets)->composing(), "")
      ("timeout", po::value(&timeout), "")
      ("memory", po::value(&memory), "")
      ("cpu", po::value(&cpu), "")
      ("pids", po::value(&pids), "")
      ("preload", "")
      ("no-preload", "")
      ("fast-path", "")
      ("no-landlock", "")
      ("ask", "")
      ("ask-socket", po::value(&ask_socket), "")
      ("ask-save", po::value(&ask_save), "");
  audit::add_options(desc, /*with_destination=*/false);  // --audit-format, --audit-rotate
  po::positional_options_description pos;
  pos.add("command", -1);
  po::options_description hidden;
  std::vector<std::string> positional;
  hidden.add_options()("command", po::value(&positional), "");
  po::options_description all;
  all.add(desc).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(opts_args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  if (vm.count("help")) {
    std::fputs(kRunUsage, stdout);
    return 0;
  }
  // Without "--", the first non-option word starts the command (options before it only).
  if (!saw_dashdash) command = positional;
  else if (!positional.empty()) return bad("unexpected argument '" + positional[0] + "' before '--'");
  if (command.empty()) return bad("missing command (guardian run [options] -- COMMAND [ARG...])");

  session::RunOptions o;
  o.profile = profile;
  if (mode == "enforce") o.mode = decode::Mode::enforce;
  else if (mode == "complain") o.mode = decode::Mode::complain;
  else return bad("--mode must be enforce or complain, not '" + mode + "'");
  if (backend == "auto") o.backend = session::Backend::auto_;
  else if (backend == "seccomp") o.backend = session::Backend::seccomp;
  else if (backend == "ptrace") o.backend = session::Backend::ptrace;
  else return bad("--backend must be auto, seccomp or ptrace, not '" + backend + "'");
  o.audit = audit;
  {
    auto ao = audit::options_from(vm);
    if (!ao) return bad(ao.error().message);
    o.audit_format = ao.value().format;
    o.audit_rotate_bytes = ao.value().rotate_bytes;
  }
  // Rules keep their command-line order within each kind.
  for (const auto& p : allow_read) o.extra_rules.emplace_back("read", p);
  for (const auto& p : allow_write) o.extra_rules.emplace_back("write", p);
  for (const auto& p : allow_exec) o.extra_rules.emplace_back("exec", p);
  for (const auto& p : allow_connect) o.extra_rules.emplace_back("connect", p);
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) return bad("--set expects NAME=VALUE, not '" + s + "'");
    o.set_vars.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  if (!timeout.empty()) {
    double d;
    if (!parse_duration(timeout, d)) return bad("--timeout: bad duration '" + timeout + "'");
    o.limits.wall_s = d;
  }
  if (!cpu.empty()) {
    double d;
    if (!parse_duration(cpu, d)) return bad("--cpu: bad duration '" + cpu + "'");
    o.limits.cpu_s = d;
  }
  if (!memory.empty()) {
    std::uint64_t b;
    if (!parse_size(memory, b)) return bad("--memory: bad size '" + memory + "'");
    o.limits.memory_bytes = b;
  }
  if (vm.count("pids")) {
    if (pids == 0) return bad("--pids must be at least 1");
    o.limits.pids = pids;
  }
  if (vm.count("preload") && vm.count("no-preload"))
    return bad("--preload and --no-preload exclude each other");
  if (vm.count("preload")) o.preload = true;
  if (vm.count("no-preload")) o.preload = false;
  o.fast_path = vm.count("fast-path") != 0;
  o.landlock = vm.count("no-landlock") == 0;
  o.ask.ask = vm.count("ask") != 0;
  o.ask.socket_path = ask_socket;
  o.ask.save_path = ask_save;
  o.command = std::move(command);
  return session::run_session(o);
}

}  // namespace guardian::cli
