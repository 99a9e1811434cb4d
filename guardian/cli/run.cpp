// guardian run: parse the options of spec §1 into session::RunOptions and run the session.
#include <cstdio>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "audit/options.hpp"
#include "cli/commands.hpp"
#include "cli/session_options.hpp"
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
    "      --pids N              limit on the number of tasks (processes and threads)\n"
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

int bad(const std::string& msg) {
  std::fprintf(stderr, "guardian run: %s (try 'guardian run --help')\n", msg.c_str());
  return kExitGuardianFailure;
}

}  // namespace

int run_main(int argc, char** argv) {
  std::string profile = "default", mode = "enforce", audit;
  std::vector<std::string> allow_read, allow_write, allow_exec, allow_connect, sets;
  std::string ask_socket, ask_save;
  SessionOptionValues session_values;
  po::options_description desc;
  desc.add_options()
      ("help,h", "")
      ("profile,p", po::value(&profile), "")
      ("mode", po::value(&mode), "")
      ("audit,a", po::value(&audit), "")
      ("allow-read", po::value(&allow_read)->composing(), "")
      ("allow-write", po::value(&allow_write)->composing(), "")
      ("allow-exec", po::value(&allow_exec)->composing(), "")
      ("allow-connect", po::value(&allow_connect)->composing(), "")
      ("set", po::value(&sets)->composing(), "")
      ("fast-path", "")
      ("no-landlock", "")
      ("ask", "")
      ("ask-socket", po::value(&ask_socket), "")
      ("ask-save", po::value(&ask_save), "");
  add_session_options(desc, session_values);  // --backend, limits, --preload/--no-preload
  audit::add_options(desc, /*with_destination=*/false);  // --audit-format, --audit-rotate
  po::positional_options_description pos;
  pos.add("command", -1);
  po::options_description hidden;
  std::vector<std::string> positional;
  hidden.add_options()("command", po::value(&positional), "");
  po::options_description all;
  all.add(desc).add(hidden);
  // Everything after the first "--" (or from the first word that is not an option) is the
  // command, untouched by option parsing.
  SplitArgs args = split_command(argc, argv, all);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args.options).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  if (vm.count("help")) {
    std::fputs(kRunUsage, stdout);
    return 0;
  }
  if (auto e = resolve_command(args, positional); !e.empty()) return bad(e);
  if (args.command.empty()) return bad("missing command (guardian run [options] -- COMMAND [ARG...])");

  session::RunOptions o;
  o.profile = profile;
  if (mode == "enforce") o.mode = decode::Mode::enforce;
  else if (mode == "complain") o.mode = decode::Mode::complain;
  else return bad("--mode must be enforce or complain, not '" + mode + "'");
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
  if (auto e = parse_sets(sets, o.set_vars); !e.empty()) return bad(e);
  if (auto e = apply_session_options(vm, session_values, o); !e.empty()) return bad(e);
  o.fast_path = vm.count("fast-path") != 0;
  o.landlock = vm.count("no-landlock") == 0;
  o.ask.ask = vm.count("ask") != 0;
  o.ask.socket_path = ask_socket;
  o.ask.save_path = ask_save;
  o.command = std::move(args.command);
  return session::run_session(o);
}

}  // namespace guardian::cli
