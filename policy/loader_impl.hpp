// Internal to the loader (loader.cpp, loader_parse.cpp): one loading session's state.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "policy/fs_facts.hpp"
#include "policy/loader.hpp"
#include "policy/sha256.hpp"

namespace guardian::policy {

// A profile file or built-in being loaded.
struct Unit {
  std::string id;       // canonical: realpath or "builtin:NAME" (cycle detection)
  std::string display;  // as shown in errors and provenance
  std::string dir;      // ${PROFILE_DIR}; "" for built-ins
  bool builtin = false;
  std::string builtin_name;
};

class Loader {
 public:
  explicit Loader(const LoadContext& ctx);
  bool load_top(std::string_view file_or_name);
  bool load_top_text(std::string_view text, std::string_view display);
  LoadResult finish();

 private:
  // Which characters a variable's value keeps: in patterns, built-in values are escaped so
  // that a '*' in $HOME stays literal; elsewhere values are inserted as they are.
  enum class Mode { pattern, plain };

  bool read_text(const std::string& path, std::string* text, std::string* why);
  bool load_unit(const Unit& u, const std::string& text, bool top);
  void load_extends(const Unit& from, const std::string& ref, const YAML::Mark& mark);
  void parse_unit(const Unit& u, const YAML::Node& root, bool top);

  // Map checks: unknown keys ("did you mean"), duplicates, and the key's value by name.
  using Fields = std::vector<std::pair<std::string, std::pair<YAML::Node, YAML::Node>>>;
  bool fields(const Unit& u, const YAML::Node& map, const std::string& section,
              const std::vector<std::string_view>& allowed, Fields* out);

  bool scalar(const Unit& u, const YAML::Node& n, const std::string& what, std::string* out);
  bool string_list(const Unit& u, const YAML::Node& n, const std::string& what, std::vector<YAML::Node>* out);
  bool expand(const Unit& u, const YAML::Node& at, const std::string& in, Mode mode, std::string* out, int depth = 0);
  bool path_pattern(const Unit& u, const YAML::Node& n, const std::string& what, PathRule* out);

  void parse_vars(const Unit& u, const YAML::Node& n);
  void parse_files(const Unit& u, const YAML::Node& n);
  void parse_exec(const Unit& u, const YAML::Node& n);
  void parse_network(const Unit& u, const YAML::Node& n);
  void parse_limits(const Unit& u, const YAML::Node& n);
  void parse_env(const Unit& u, const YAML::Node& n);
  void parse_audit(const Unit& u, const YAML::Node& n);
  void path_list(const Unit& u, const YAML::Node& n, const std::string& what, std::vector<PathRule>* out);
  void net_list(const Unit& u, const YAML::Node& n, const std::string& what, std::vector<NetRule>* out);

  void error(const std::string& file, const YAML::Mark& mark, std::string message);
  void error_at(const std::string& file, int line, int col, std::string message);
  RuleOrigin origin(const Unit& u, const YAML::Node& n, const std::string& pattern) const;

  const LoadContext& ctx_;
  Profile profile_;
  std::vector<LoadError> errors_;
  std::vector<std::string> stack_, stack_display_;
  std::set<std::string> done_;
  std::set<std::string> missing_said_;  // built-in variables without a value, reported once
  std::map<std::string, std::string> unit_vars_;  // `vars` of the unit being parsed (raw)
  std::set<std::string> referenced_;  // every ${NAME} looked up: what --set may name
  std::string sha_input_;
  bool env_drop_given_ = false;
  std::size_t rule_count_ = 0;
  // What resolving the rules' prefixes read of the file system; handed on in LoadResult.
  std::shared_ptr<FsFacts> facts_ = std::make_shared<FsFacts>();
};

}  // namespace guardian::policy
