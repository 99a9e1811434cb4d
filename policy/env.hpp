// The `env` section applied to an environment block (pure; the supervisor calls it before exec).
#pragma once

#include <string>
#include <vector>

#include "profile.hpp"

namespace guardian::policy {

// Returns the environment the command gets, as "NAME=VALUE" strings, in the order of `envp`
// followed by new `set` names. Without `keep` every variable passes but those whose name
// matches a `drop` pattern; with `keep` only names matching a `keep` pattern pass, minus
// `drop`; `set` then adds or replaces. Patterns use '*' and '?'. The credential list of
// `default` (values.hpp default_env_drop) matches names case-insensitively, since
// "github_token" is as secret as "GITHUB_TOKEN"; other patterns are case-sensitive.
// Entries without '=' are dropped. `envp` may be null.
std::vector<std::string> filter_environment(const EnvPolicy& policy, char** envp);

}  // namespace guardian::policy
