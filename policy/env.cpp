// Environment filtering (spec §2 `env`): keep / drop / set over name patterns.
#include "policy/env.hpp"

#include <algorithm>
#include <string_view>

#include "policy/glob.hpp"
#include "policy/values.hpp"

namespace guardian::policy {

namespace {

bool is_default_pattern(const std::string& p) {
  const auto& d = default_env_drop();
  return std::find(d.begin(), d.end(), p) != d.end();
}

bool matches_any(const std::vector<std::string>& pats, std::string_view name) {
  for (const std::string& p : pats)
    if (wildcard_match(p, name, is_default_pattern(p))) return true;
  return false;
}

}  // namespace

std::vector<std::string> filter_environment(const EnvPolicy& policy, char** envp) {
  std::vector<std::string> out;
  for (char** e = envp; e && *e; ++e) {
    std::string_view entry(*e);
    std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view name = entry.substr(0, eq);
    if (policy.has_keep && !matches_any(policy.keep, name)) continue;
    if (matches_any(policy.drop, name)) continue;
    out.emplace_back(entry);
  }
  for (const auto& kv : policy.set) {
    const std::string& name = kv.first;  // not a structured binding: clang 14 cannot capture those
    std::string entry = name + "=" + kv.second;
    auto same = [&](const std::string& s) { return s.size() > name.size() && s.compare(0, name.size(), name) == 0 && s[name.size()] == '='; };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (it != out.end()) *it = std::move(entry);
    else out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace guardian::policy
