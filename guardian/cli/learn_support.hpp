// Shared by `guardian learn` and `guardian profile diff`: the variables of the running
// guardian, and asking a loaded profile whether an observed operation is allowed.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "policy/engine.hpp"
#include "policy/learn/observe.hpp"
#include "policy/loader.hpp"

namespace guardian::cli {

// HOME, CWD, TMPDIR, USER, UID of this process, CWD/HOME/TMPDIR resolved (realpath) when
// they exist; `cwd` / `home` / `tmpdir` override the environment when not empty.
policy::LoadContext learn_context(const std::string& cwd = "", const std::string& home = "",
                                  const std::string& tmpdir = "");

// Loads a profile (file or built-in name) and compiles it; prints every load error as
// FILE:LINE:COL: message on stderr and returns nullptr on failure.
std::unique_ptr<policy::Engine> load_engine(const std::string& file_or_name, const policy::LoadContext& ctx);

// True when `engine` allows the observed operation.
bool engine_allows(const policy::Engine& engine, const policy::learn::Observation& ob);

}  // namespace guardian::cli
