// guardian learn: run a command with everything allowed and recorded (or read a complain-mode
// audit log), then write the least-privilege profile the generaliser (policy/learn) derives.
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "cli/commands.hpp"
#include "cli/learn_support.hpp"
#include "cli/session_options.hpp"
#include "policy/learn/generalise.hpp"
#include "session/run_session.hpp"

namespace po = boost::program_options;

namespace guardian::cli {

namespace {

constexpr const char* kLearnUsage =
    "usage: guardian learn [options] -o OUT.yaml [--merge OLD.yaml] -- COMMAND [ARG...]\n"
    "       guardian learn --from-audit LOG -o OUT.yaml [--merge OLD.yaml]\n"
    "\n"
    "Runs COMMAND with nothing blocked and every operation recorded (or reads the audit log\n"
    "of `guardian run --mode complain -a LOG`), and writes a commented profile that allows\n"
    "what it did and as little else as possible, extending the built-in `base`.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE         the profile to write (required)\n"
    "      --from-audit LOG      learn from a recorded audit log instead of running COMMAND\n"
    "      --merge FILE          widen this existing profile instead of writing a new one:\n"
    "                            its rules and comments stay, what the run needed is added\n"
    "      --extends NAME        profile the output extends and need not repeat (repeatable;\n"
    "                            default: base; 'none' for a self-contained profile)\n"
    "      --name NAME           the profile's name (default: the command's name)\n"
    "      --set NAME=VALUE      set a variable of the --merge profile (repeatable)\n"
    "  -a, --audit PATH          also keep the recorded audit log at PATH\n"
    "      --backend auto|seccomp|ptrace\n"
    "                            interception mechanism (default: auto)\n"
    "      --timeout D, --memory S, --cpu D, --pids N\n"
    "                            resource limits for COMMAND\n"
    "      --preload, --no-preload\n"
    "                            inject the LD_PRELOAD shim or not\n"
    "  -h, --help                show this help\n"
    "\n"
    "exit status: the command's own (the profile is written whatever it is); 126 command\n"
    "cannot be executed, 127 not found (no profile written); 125 guardian failed (bad\n"
    "option, unreadable or malformed log, profile not written).\n";

int bad(const std::string& msg) {
  std::fprintf(stderr, "guardian learn: %s (try 'guardian learn --help')\n", msg.c_str());
  return kExitGuardianFailure;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "guardian learn: %s\n", msg.c_str());
  return kExitGuardianFailure;
}

struct LearnArgs {
  std::string output, from_audit, merge, name;
  std::vector<std::string> extends{"base"};
  std::vector<std::pair<std::string, std::string>> sets;
};

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream s;
  s << f.rdbuf();
  out = s.str();
  return !f.bad();
}

// Writes `text` to `path` through a temporary file in the same directory and rename(2),
// so an existing profile is never left half-written.
// Something other than a regular file (/dev/null, /dev/stdout, a FIFO) is written in place:
// renaming over it would replace it (as root, /dev/null by a regular file).
bool write_atomically(const std::string& path, const std::string& text, std::string& error) {
  auto write_all = [&](int fd) {
    for (std::size_t off = 0; off < text.size();) {
      ssize_t n = ::write(fd, text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = "cannot write '" + path + "': " + std::strerror(n == 0 ? EIO : errno);
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      error = "cannot write '" + path + "': " + std::strerror(errno);
      return false;
    }
    bool ok = write_all(fd);
    if (::close(fd) != 0 && ok) {
      error = "cannot write '" + path + "': " + std::strerror(errno);
      ok = false;
    }
    return ok;
  }
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  if (!write_all(fd)) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  fchmod(fd, 0644);
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

// The learned command: what follows "--" in a recorded argv, else the argv itself.
std::vector<std::string> command_of(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size(); ++i)
    if (argv[i] == "--") return {argv.begin() + static_cast<long>(i) + 1, argv.end()};
  return argv;
}

// Log -> profile at args.output. Returns 0 or 125.
int learn_from_log(const std::string& log, const LearnArgs& args) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return fail("cannot read audit log '" + log + "': " + std::strerror(errno));
  struct stat log_st {};
  if (::stat(log.c_str(), &log_st) == 0 && S_ISDIR(log_st.st_mode))
    return fail("cannot read audit log '" + log + "': " + std::strerror(EISDIR));
  std::string err;
  auto input = policy::learn::read_audit(in, log, err);
  if (!input) return fail(err);
  // Not a log at all (an empty file, the wrong file): no profile rather than an empty one.
  if (!input->session.seen && input->observations.empty()) return fail(log + ": no audit records");
  for (const auto& w : input->warnings) std::fprintf(stderr, "guardian learn: %s\n", w.c_str());
  if (!input->session.seen) std::fprintf(stderr, "guardian learn: %s: no session_start; ${CWD} is the current directory\n", log.c_str());

  policy::LoadContext ctx = learn_context(input->session.cwd, input->session.home, input->session.tmpdir);
  for (const auto& [k, v] : args.sets) ctx.overrides[k] = v;
  policy::learn::LearnOptions lo;
  lo.cwd = ctx.builtins["CWD"];
  lo.home = ctx.builtins["HOME"];
  lo.tmpdir = ctx.builtins["TMPDIR"];
  lo.name = args.name;
  lo.command = command_of(input->session.argv);
  lo.pids = input->pids;

  // What is already allowed produces no rule: the merged profile, else what we extend.
  std::vector<std::unique_ptr<policy::Engine>> engines;
  std::string old_text;
  if (!args.merge.empty()) {
    if (!read_file(args.merge, old_text)) return fail("cannot read '" + args.merge + "': " + std::strerror(errno));
    auto e = load_engine(args.merge, ctx);
    if (!e) return kExitGuardianFailure;
    engines.push_back(std::move(e));
  } else {
    lo.extends.clear();
    for (const auto& x : args.extends) {
      if (x == "none") continue;
      auto e = load_engine(x, ctx);
      if (!e) return kExitGuardianFailure;
      engines.push_back(std::move(e));
      lo.extends.push_back(x);
    }
  }
  lo.already_allowed = [&](const policy::learn::Observation& ob) {
    for (const auto& e : engines)
      if (engine_allows(*e, ob)) return true;
    return false;
  };

  policy::learn::Learned L = policy::learn::generalise(input->observations, lo);
  std::string text;
  if (!args.merge.empty()) {
    if (!policy::learn::merge_profile(old_text, L, text, err)) return fail(args.merge + ": " + err);
  } else {
    text = policy::learn::render_profile(L, lo);
  }
  if (!write_atomically(args.output, text, err)) return fail(err);

  // Fail loudly rather than hand over a profile guardian itself would refuse. (A device or
  // FIFO written in place, such as /dev/stdout, cannot be read back.)
  struct stat st {};
  const bool readable_back = ::stat(args.output.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  auto check = readable_back ? policy::load_profile(args.output, ctx) : policy::LoadResult{};
  if (readable_back && (!check.profile || !check.errors.empty())) {
    for (const auto& e : check.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return fail("the written profile '" + args.output + "' does not load (please report this)");
  }
  std::fprintf(stderr,
               "guardian learn: wrote %s: %zu read, %zu write, %zu exec, %zu connect, %zu bind rules "
               "from %llu operations (%llu already allowed)\n",
               args.output.c_str(), L.read.size(), L.write.size(), L.exec.size(), L.connect.size(), L.bind.size(),
               static_cast<unsigned long long>(L.total_ops), static_cast<unsigned long long>(L.covered_ops));
  return 0;
}

}  // namespace

int learn_main(int argc, char** argv) {
  LearnArgs args;
  std::vector<std::string> extends, sets, positional;
  std::string audit;
  SessionOptionValues session_values;
  po::options_description desc;
  desc.add_options()
      ("help,h", "")
      ("output,o", po::value(&args.output), "")
      ("from-audit", po::value(&args.from_audit), "")
      ("merge", po::value(&args.merge), "")
      ("extends", po::value(&extends)->composing(), "")
      ("name", po::value(&args.name), "")
      ("set", po::value(&sets)->composing(), "")
      ("audit,a", po::value(&audit), "")
      ("command", po::value(&positional), "");
  add_session_options(desc, session_values);  // --backend, limits, --preload/--no-preload
  po::positional_options_description pos;
  pos.add("command", -1);
  SplitArgs split = split_command(argc, argv, desc);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(split.options).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  if (vm.count("help")) {
    std::fputs(kLearnUsage, stdout);
    return 0;
  }
  if (auto e = resolve_command(split, positional); !e.empty()) return bad(e);
  const std::vector<std::string>& command = split.command;
  if (args.output.empty()) return bad("missing -o OUT.yaml");
  if (!extends.empty()) args.extends = extends;
  if (!args.merge.empty() && !extends.empty()) return bad("--extends and --merge exclude each other (the merged profile keeps its own)");
  if (auto e = parse_sets(sets, args.sets); !e.empty()) return bad(e);
  if (!args.from_audit.empty()) {
    if (!command.empty()) return bad("--from-audit takes no command");
    return learn_from_log(args.from_audit, args);
  }
  if (command.empty()) return bad("missing command (guardian learn [options] -o OUT.yaml -- COMMAND [ARG...])");
  if (audit == "-") return bad("--audit must name a file when learning");

  session::RunOptions o;
  if (auto e = apply_session_options(vm, session_values, o); !e.empty()) return bad(e);

  // The run path in complain mode with a profile that allows nothing: every operation is
  // performed and logged (as would-deny); no Landlock envelope, which would block for real.
  const char* td = std::getenv("TMPDIR");
  std::string dir = std::string(td != nullptr && *td != '\0' ? td : "/tmp") + "/guardian-learn.XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return fail("cannot create a temporary directory: " + std::string(std::strerror(errno)));
  std::string nothing = dir + "/nothing.yaml", log = audit.empty() ? dir + "/audit.jsonl" : audit, err;
  if (!write_atomically(nothing, "version: 1\nname: learn\naudit: {decisions: all}\n", err)) {
    ::rmdir(dir.c_str());
    return fail(err);
  }
  o.profile = nothing;
  o.mode = decode::Mode::complain;
  o.learn_allow_all = true;
  o.landlock = false;
  o.audit = log;
  o.command = command;
  int status = session::run_session(o);
  // No log: the session never started (guardian failed, or the command could not be run:
  // 126/127 as for `guardian run`, whose one-line reason is already on stderr).
  bool no_log = access(log.c_str(), R_OK) != 0;
  bool not_run = status == 126 || status == 127;
  int rc = no_log && (status == kExitGuardianFailure || not_run) ? status : learn_from_log(log, args);
  ::unlink(nothing.c_str());
  if (audit.empty()) ::unlink(log.c_str());
  ::rmdir(dir.c_str());
  if (rc != 0) return rc;
  if (status != 0)
    std::fprintf(stderr, "guardian learn: the command exited with status %d; the profile covers what it did until then\n", status);
  return status;
}

}  // namespace guardian::cli
