// The command-line pieces `guardian run` and `guardian learn -- COMMAND` share: splitting
// argv at "--", and the options that set up the supervised session (backend, limits, shim).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

#include "session/options.hpp"

namespace guardian::cli {

// argv split at the first "--": what comes before is options (and, without "--", the
// command as positional words), what comes after is the command, untouched.
struct SplitArgs {
  std::vector<std::string> options, command;
  bool saw_dashdash = false;
};
SplitArgs split_at_dashdash(int argc, char** argv);

// argv split where the command starts: after the first "--", or, without one, at the first
// word that is neither an option of `desc` nor the value of one (so options after the command
// are the command's own). saw_dashdash is then true whenever a command was found.
SplitArgs split_command(int argc, char** argv, const boost::program_options::options_description& desc);

// The command to run: after "--" when there was one (then no positional word may come
// before it), else the positional words. Returns an error message, or "" on success.
std::string resolve_command(SplitArgs& args, const std::vector<std::string>& positional);

// --set NAME=VALUE words -> (NAME, VALUE) pairs appended to out. Returns an error message
// for a word without a name or '=', or "" on success.
std::string parse_sets(const std::vector<std::string>& words,
                       std::vector<std::pair<std::string, std::string>>& out);

// Values of the session options, filled by the parser.
struct SessionOptionValues {
  std::string backend = "auto", timeout, memory, cpu;
  std::uint32_t pids = 0;
};

// Adds --backend, --timeout, --memory, --cpu, --pids, --preload and --no-preload.
void add_session_options(boost::program_options::options_description& desc, SessionOptionValues& v);

// Checks the parsed values and sets o.backend, o.limits and o.preload. Durations and sizes
// take the forms of the profile's `limits` (guardian-profile(5)). Returns an error message
// naming the option, or "" on success.
std::string apply_session_options(const boost::program_options::variables_map& vm,
                                  const SessionOptionValues& v, session::RunOptions& o);

}  // namespace guardian::cli
