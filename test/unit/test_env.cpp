// Environment filtering (spec §2 `env`): keep, drop, set and the credential list of `default`.
#include "policy/env.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "policy/values.hpp"

using namespace guardian::policy;

namespace {

std::vector<std::string> run(const EnvPolicy& p, std::vector<std::string> env) {
  std::vector<char*> envp;
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  return filter_environment(p, envp.data());
}

}  // namespace

TEST_CASE("without keep, everything passes but drop") {
  EnvPolicy p;
  p.drop = {"*_TOKEN", "AWS_*"};
  auto out = run(p, {"PATH=/usr/bin", "GITHUB_TOKEN=x", "AWS_SECRET_ACCESS_KEY=y", "HOME=/h"});
  CHECK(out == std::vector<std::string>{"PATH=/usr/bin", "HOME=/h"});
}

TEST_CASE("with keep, only kept names pass, minus drop") {
  EnvPolicy p;
  p.has_keep = true;
  p.keep = {"PATH", "LC_*", "SECRET_*"};
  p.drop = {"*SECRET*"};
  auto out = run(p, {"PATH=/bin", "LC_ALL=C", "LANG=C", "SECRET_X=1"});
  CHECK(out == std::vector<std::string>{"PATH=/bin", "LC_ALL=C"});
}

TEST_CASE("set adds or replaces, keeping order") {
  EnvPolicy p;
  p.set = {{"A", "new"}, {"Z", "1"}};
  auto out = run(p, {"A=old", "B=b"});
  CHECK(out == std::vector<std::string>{"A=new", "B=b", "Z=1"});
}

TEST_CASE("keep with nothing matching yields an empty environment plus set") {
  EnvPolicy p;
  p.has_keep = true;
  p.set = {{"X", "1"}};
  CHECK(run(p, {"PATH=/bin"}) == std::vector<std::string>{"X=1"});
}

TEST_CASE("the default credential list, case-insensitively") {
  EnvPolicy p;
  p.drop = default_env_drop();
  auto out = run(p, {"PATH=/bin", "GITHUB_TOKEN=1", "github_token=2", "DB_PASSWORD=3", "OPENAI_API_KEY=4",
                     "AWS_PROFILE=5", "SSH_AUTH_SOCK=/tmp/agent", "MY_CLIENT_SECRET=6", "TERM=xterm", "LANG=C.UTF-8",
                     "KEYBOARD=us", "NPM_CONFIG__AUTH=7"});
  CHECK(out == std::vector<std::string>{"PATH=/bin", "TERM=xterm", "LANG=C.UTF-8", "KEYBOARD=us"});
}

TEST_CASE("the default list drops passwords by their other names, not the shell's PWD") {
  EnvPolicy p;
  p.drop = default_env_drop();
  auto out = run(p, {"PWD=/w", "OLDPWD=/", "MYSQL_PWD=1", "SMTP_PASS=2", "BORG_PASSPHRASE=3",
                     "ANSIBLE_VAULT_PASSPHRASE_FILE=/k", "PASSENGER_APP_ENV=dev", "HTTP_PROXY_BYPASS=x"});
  CHECK(out == std::vector<std::string>{"PWD=/w", "OLDPWD=/", "PASSENGER_APP_ENV=dev", "HTTP_PROXY_BYPASS=x"});
}

TEST_CASE("malformed entries are dropped; a null envp is empty") {
  EnvPolicy p;
  CHECK(run(p, {"NOEQUALS", "=value", "OK=1"}) == std::vector<std::string>{"OK=1"});
  CHECK(filter_environment(p, nullptr).empty());
}
