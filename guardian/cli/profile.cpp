// guardian profile: check, explain, show (and dispatch of diff) — the profile author's tools.
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "cli/commands.hpp"
#include "policy/address.hpp"
#include "policy/engine.hpp"
#include "policy/glob.hpp"
#include "policy/loader.hpp"

namespace guardian::cli {

namespace {

namespace po = boost::program_options;
using namespace guardian::policy;

constexpr const char* kProfileUsage =
    "usage: guardian profile check [--set NAME=VALUE]... FILE...\n"
    "       guardian profile explain [--set NAME=VALUE]... FILE (--read P | --write P | --stat P |\n"
    "                                --exec P | --connect ADDR | --bind ADDR)\n"
    "       guardian profile show NAME\n"
    "       guardian profile diff A B\n"
    "       guardian profile envelope [--verbose] [--set NAME=VALUE]... NAME|FILE\n"
    "\n"
    "  check    validate profiles; errors as FILE:LINE:COL: message (exit 0 valid, 1 invalid)\n"
    "  explain  print `allow` or `deny`, then the deciding rule as FILE:LINE: PATTERN\n"
    "           (exit 0 allow, 1 deny)\n"
    "  show     print a built-in profile (%s)\n"
    "  diff     what B allows that A does not, and the reverse\n"
    "  envelope the Landlock envelope guardian run adds under the supervisor (a superset)\n"
    "\n"
    "FILE is a profile file or the name of a built-in profile. See guardian-profile(5).\n";

// Prints a one-line usage error and returns 125.
int usage_error(const std::string& sub, const std::string& what) {
  std::fprintf(stderr, "guardian profile%s%s: %s (try 'guardian profile%s%s --help')\n", sub.empty() ? "" : " ",
               sub.c_str(), what.c_str(), sub.empty() ? "" : " ", sub.c_str());
  return kExitGuardianFailure;
}

// Parses --set NAME=VALUE entries into the load context; false with a message on a bad one.
bool apply_sets(const std::vector<std::string>& sets, LoadContext* ctx, std::string* bad) {
  for (const std::string& s : sets) {
    std::size_t eq = s.find('=');
    if (eq == 0 || eq == std::string::npos) {
      *bad = "bad --set '" + s + "' (expected NAME=VALUE)";
      return false;
    }
    ctx->overrides[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return true;
}

// Parses argv with `desc` and positional `pos`; returns false with `err` set on bad usage.
bool parse(int argc, char** argv, const po::options_description& desc, const po::positional_options_description& pos,
           po::variables_map* vm, std::string* err) {
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(desc)
                  .positional(pos)
                  .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                  .run(),
              *vm);
    po::notify(*vm);
  } catch (const po::error& e) {
    *err = e.what();
    return false;
  }
  return true;
}

int check_main(int argc, char** argv) {
  po::options_description desc("options");
  std::vector<std::string> files, sets;
  desc.add_options()("help,h", "show this help")
      ("set", po::value(&sets)->composing(), "NAME=VALUE: set a profile variable (repeatable)")
      ("file", po::value(&files)->composing(), "profile file or built-in name");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  std::string err;
  if (!parse(argc, argv, desc, pos, &vm, &err)) return usage_error("check", err);
  if (vm.count("help")) {
    std::cout << "usage: guardian profile check [--set NAME=VALUE]... FILE...\n"
                 "Validates each profile (and what it extends). Errors go to stderr as\n"
                 "FILE:LINE:COL: message; each valid FILE gets 'FILE: ok' on stdout.\n"
                 "Exit status: 0 all valid, 1 some invalid, 125 usage error.\n\n"
                 "options:\n"
                 "      --set NAME=VALUE      set a profile variable (repeatable)\n"
                 "  -h, --help                show this help\n";
    return 0;
  }
  if (files.empty()) return usage_error("check", "missing FILE");
  LoadContext ctx = context_from_environment();
  if (!apply_sets(sets, &ctx, &err)) return usage_error("check", err);
  int status = 0;
  for (const std::string& f : files) {
    LoadResult r = load_profile(f, ctx);
    if (r.profile) {
      try {
        Engine e(*r.profile);  // compiles every rule: what the supervisor will do
      } catch (const std::exception& ex) {
        r.errors.push_back(LoadError{f, 0, 0, "profile '" + f + "': " + ex.what()});
      }
    }
    for (const LoadError& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    if (r.errors.empty()) std::printf("%s: ok\n", f.c_str());
    else status = 1;
  }
  return status;
}

// The path as the kernel would resolve it as far as it exists; the rest as written.
std::string resolve_query_path(const std::string& p) {
  std::string abs = p;
  if (abs.empty() || abs[0] != '/') {
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return {};
    abs = std::string(cwd) + "/" + abs;
  }
  std::string probe = abs;
  int links = 0;
  while (!probe.empty()) {
    char* real = ::realpath(probe.c_str(), nullptr);
    if (real) {
      std::string out = std::string(real) + "/" + abs.substr(probe.size());
      std::free(real);
      return normalize_path(out);
    }
    // A dangling symlink is followed as the kernel follows it (open with O_CREAT creates
    // its target): its target, then the rest, is resolved in its place.
    struct stat st;
    char target[PATH_MAX];
    ssize_t n;
    if (links < 40 && ::lstat(probe.c_str(), &st) == 0 && S_ISLNK(st.st_mode) &&
        (n = ::readlink(probe.c_str(), target, sizeof target)) > 0 &&
        static_cast<std::size_t>(n) < sizeof target) {
      ++links;
      std::string t(target, static_cast<std::size_t>(n));
      std::string dir = probe.substr(0, probe.rfind('/'));
      abs = (t[0] == '/' ? t : dir + "/" + t) + abs.substr(probe.size());
      probe = abs;
      continue;
    }
    std::size_t s = probe.rfind('/');
    if (s == std::string::npos) break;
    probe.resize(s);
  }
  return normalize_path(abs);
}

int explain_main(int argc, char** argv) {
  po::options_description desc("options");
  std::vector<std::string> sets, files;
  desc.add_options()("help,h", "show this help")
      ("read", po::value<std::string>(), "P: may the profile read path P?")
      ("write", po::value<std::string>(), "P: may it write P?")
      ("stat", po::value<std::string>(), "P: may it stat P (metadata only)?")
      ("exec", po::value<std::string>(), "P: may it execute P?")
      ("connect", po::value<std::string>(), "ADDR: may it connect to ADDR (HOST:PORT, unix:PATH, unix:@NAME)?")
      ("bind", po::value<std::string>(), "ADDR: may it bind ADDR?")
      ("set", po::value(&sets)->composing(), "NAME=VALUE: set a profile variable (repeatable)")
      ("file", po::value(&files)->composing(), "profile file or built-in name");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  std::string err;
  if (!parse(argc, argv, desc, pos, &vm, &err)) return usage_error("explain", err);
  if (vm.count("help")) {
    std::cout << "usage: guardian profile explain [--set NAME=VALUE]... FILE (--read P | --write P |\n"
                 "           --stat P | --exec P | --connect ADDR | --bind ADDR)\n"
                 "Prints `allow` or `deny` alone on the first line, then the rule that decided as\n"
                 "FILE:LINE: PATTERN (or a note that nothing matched), then the path or address\n"
                 "as decided. P is resolved as far as it exists; the rest is taken as written.\n"
                 "Exit status: 0 allow, 1 deny, 125 usage or profile error.\n\n"
                 "options:\n"
                 "      --read P              may the profile read path P?\n"
                 "      --write P             may it write P?\n"
                 "      --stat P              may it stat P (metadata only)?\n"
                 "      --exec P              may it execute P?\n"
                 "      --connect ADDR        may it connect to ADDR (IPV4:PORT, [IPV6]:PORT, NAME:PORT,\n"
                 "                            unix:PATH, unix:@NAME)?\n"
                 "      --bind ADDR           may it bind ADDR?\n"
                 "      --set NAME=VALUE      set a profile variable (repeatable)\n"
                 "  -h, --help                show this help\n";
    return 0;
  }
  if (files.size() != 1) return usage_error("explain", files.empty() ? "missing FILE" : "exactly one FILE expected");
  const char* kinds[] = {"read", "write", "stat", "exec", "connect", "bind"};
  std::string kind, arg;
  for (const char* k : kinds) {
    if (!vm.count(k)) continue;
    if (!kind.empty()) return usage_error("explain", "give exactly one of --read, --write, --stat, --exec, --connect, --bind");
    kind = k;
    arg = vm[k].as<std::string>();
  }
  if (kind.empty()) return usage_error("explain", "missing query (--read, --write, --stat, --exec, --connect or --bind)");
  LoadContext ctx = context_from_environment();
  if (!apply_sets(sets, &ctx, &err)) return usage_error("explain", err);
  LoadResult r = load_profile(files[0], ctx);
  for (const LoadError& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
  if (!r.profile) return kExitGuardianFailure;
  std::unique_ptr<Engine> engine;
  try {
    engine = std::make_unique<Engine>(*r.profile);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "guardian: profile '%s': %s\n", files[0].c_str(), ex.what());
    return kExitGuardianFailure;
  }

  Request q;
  std::string path, lexical, host, storage, shown;
  if (kind == "connect" || kind == "bind") {
    q.category = Category::network;
    q.op = kind == "connect" ? Op::connect : Op::bind;
    if (!parse_concrete_address(arg, &q.addr, &host, &storage, &err))
      return usage_error("explain", "bad address '" + arg + "': " + err);
    if (q.addr.kind == NetAddr::Kind::unix_path) {
      storage = resolve_query_path(storage);
      q.addr.unix_name = storage;
    }
    q.host = host;
    shown = host.empty() ? format_address(q.addr) : host + ":" + std::to_string(q.addr.port);
  } else {
    if (arg.empty()) return usage_error("explain", "empty path");
    q.category = kind == "exec" ? Category::exec : Category::file;
    q.op = kind == "read" ? Op::read : kind == "write" ? Op::write : kind == "stat" ? Op::stat : Op::exec;
    path = resolve_query_path(arg);
    std::string abs = arg[0] == '/' ? arg : std::string();
    if (abs.empty()) {
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof cwd)) abs = std::string(cwd) + "/" + arg;
    }
    lexical = normalize_path(abs);
    if (path.empty()) return usage_error("explain", "cannot resolve path '" + arg + "'");
    q.path = path;
    q.lexical_path = lexical;
    q.pid = static_cast<std::int32_t>(::getpid());  // /proc/self names guardian here
    // A link counts as "outside what the session may write" when the profile cannot write
    // the name the user typed (system aliases such as /etc/alternatives).
    Request w = q;
    w.op = Op::write;
    w.category = Category::file;
    w.path = lexical;
    w.lexical_path = {};
    q.lexical_trusted = engine->decide(w).verdict != Verdict::allow;
    shown = path;
  }
  Decision d = engine->decide(q);
  // `metadata: open`: the supervisor lets every stat-family call through without asking,
  // deny rules included (spec §2): say what run does.
  bool stat_open = q.op == Op::stat && engine->metadata_open();
  if (stat_open) {
    d.verdict = Verdict::allow;
    d.rule = &r.profile->metadata_origin;
    d.ancestor = false;
  }
  bool allowed = d.verdict == Verdict::allow;
  std::printf("%s\n", allowed ? "allow" : "deny");
  if (d.rule) {
    std::printf("%s:%d: %s\n", d.rule->file.c_str(), d.rule->line, d.rule->pattern.c_str());
  } else {
    std::printf("no rule matched: what a profile does not allow is denied\n");
  }
  std::printf("%s: %s\n", kind == "connect" || kind == "bind" ? "address" : "path", shown.c_str());
  if (d.ancestor) std::printf("note: metadata only, as an ancestor of what the rule allows\n");
  if (stat_open) std::printf("note: metadata: open lets every stat, access and readlink through unasked\n");
  if (!allowed) {
    std::string tip = engine->tip(q);
    if (!tip.empty()) std::printf("tip: %s\n", tip.c_str());
  }
  return allowed ? 0 : 1;
}

int show_main(int argc, char** argv) {
  po::options_description desc("options");
  std::vector<std::string> names;
  desc.add_options()("help,h", "show this help")("name", po::value(&names)->composing(), "built-in profile name");
  po::positional_options_description pos;
  pos.add("name", -1);
  po::variables_map vm;
  std::string err;
  if (!parse(argc, argv, desc, pos, &vm, &err)) return usage_error("show", err);
  std::string list;
  for (const std::string& n : builtin_profile_names()) list += (list.empty() ? "" : ", ") + n;
  if (vm.count("help")) {
    std::cout << "usage: guardian profile show NAME\n"
                 "Prints the built-in profile NAME as YAML (built-ins: "
              << list << ").\n\n"
                 "options:\n"
                 "  -h, --help                show this help\n";
    return 0;
  }
  if (names.size() != 1) return usage_error("show", names.empty() ? "missing NAME (built-ins: " + list + ")" : "exactly one NAME expected");
  const std::string* text = builtin_profile_text(names[0]);
  if (!text) {
    std::fprintf(stderr, "guardian profile show: no built-in profile '%s' (built-ins: %s)\n", names[0].c_str(), list.c_str());
    return kExitGuardianFailure;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

}  // namespace

int profile_main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("guardian profile: missing subcommand: check, explain, show, diff or envelope (try 'guardian profile --help')\n", stderr);
    return kExitGuardianFailure;
  }
  std::string sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::string list;
    for (const std::string& n : builtin_profile_names()) list += (list.empty() ? "" : ", ") + n;
    std::printf(kProfileUsage, list.c_str());
    return 0;
  }
  if (sub == "check") return check_main(argc - 1, argv + 1);
  if (sub == "explain") return explain_main(argc - 1, argv + 1);
  if (sub == "show") return show_main(argc - 1, argv + 1);
  if (sub == "diff") return profile_diff_main(argc - 1, argv + 1);
  if (sub == "envelope") return profile_envelope_main(argc - 1, argv + 1);  // landlock room
  return usage_error("", "unknown subcommand '" + sub + "' (expected check, explain, show, diff or envelope)");
}

}  // namespace guardian::cli
