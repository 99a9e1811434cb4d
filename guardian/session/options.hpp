// RunOptions: everything `guardian run` (and `guardian learn -- CMD`) asks of a session,
// parsed by cli/run.cpp and consumed by session::run_session. Later rooms own their fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "decode/handler.hpp"

namespace guardian::session {

enum class Backend : std::uint8_t { auto_, seccomp, ptrace };

// Resource limits from the command line; they override the profile's `limits` (session room).
struct LimitOptions {
  std::optional<double> wall_s;               // --timeout
  std::optional<std::uint64_t> memory_bytes;  // --memory
  std::optional<double> cpu_s;                // --cpu
  std::optional<std::uint32_t> pids;          // --pids
  bool any() const { return wall_s || memory_bytes || cpu_s || pids; }
};

// Human approval (session room): --ask, --ask-socket, --ask-save.
struct AskOptions {
  bool ask = false;
  std::string socket_path;
  std::string save_path;
  bool any() const { return ask || !socket_path.empty() || !save_path.empty(); }
};

struct RunOptions {
  std::string profile = "default";  // -p: a file or a built-in name
  decode::Mode mode = decode::Mode::enforce;
  Backend backend = Backend::auto_;
  std::string audit;  // -a: "" none, "-" stderr, else a path
  std::string audit_format = "jsonl";   // --audit-format jsonl|ocsf (audit room)
  std::uint64_t audit_rotate_bytes = 0;  // --audit-rotate SIZE; 0 = never (audit room)
  // --allow-read/-write/-exec/-connect, in command-line order: (kind, pattern)
  std::vector<std::pair<std::string, std::string>> extra_rules;
  std::vector<std::pair<std::string, std::string>> set_vars;  // --set NAME=VALUE
  LimitOptions limits;
  std::optional<bool> preload;  // --preload / --no-preload; unset = default (shim room)
  bool fast_path = false;       // --fast-path (shim room)
  bool landlock = true;         // --no-landlock turns it off (landlock room)
  AskOptions ask;
  std::vector<std::string> command;  // COMMAND [ARG...]
  // learn room: an engine that allows everything and records (complain mode).
  bool learn_allow_all = false;
};

}  // namespace guardian::session
