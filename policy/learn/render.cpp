// Learned rules -> profile YAML (format v1), every rule commented with its evidence; and
// merging them into an existing profile's text without losing its comments.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "policy/learn/generalise.hpp"

namespace guardian::policy::learn {

namespace {

// A YAML double-quoted scalar.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Text safe inside a '#' comment: one line.
std::string flat(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  return out;
}

std::string evidence(const LearnedRule& r) {
  std::string s = std::to_string(r.ops) + (r.ops == 1 ? " op" : " ops");
  if (r.paths > 1) s += " on " + std::to_string(r.paths) + " paths";
  if (r.stat_only) s += ", metadata only";
  if (!r.example.empty()) s += (r.paths > 1 ? ", e.g. " : ": ") + flat(r.example);
  return s;
}

void list(std::ostringstream& o, const char* indent, const std::vector<LearnedRule>& rules) {
  for (const auto& r : rules) o << indent << "- " << quote(r.pattern) << "  # " << evidence(r) << "\n";
}

// A profile name from the command: its basename, letters/digits/-/_/. only.
std::string name_of(const LearnOptions& opts) {
  if (!opts.name.empty()) return opts.name;
  if (opts.command.empty()) return "learned";
  std::string b = opts.command[0];
  if (auto s = b.rfind('/'); s != std::string::npos) b = b.substr(s + 1);
  std::string out;
  for (char c : b)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
      out += c;
  return out.empty() ? "learned" : out;
}

}  // namespace

std::string render_profile(const Learned& L, const LearnOptions& opts) {
  std::ostringstream o;
  std::string cmd;
  for (const auto& a : opts.command) cmd += (cmd.empty() ? "" : " ") + a;
  o << "# Learned by `guardian learn` from " << L.total_ops << " operations";
  if (!cmd.empty()) o << " of: " << flat(cmd);
  o << "\n";
  if (L.covered_ops > 0)
    o << "# " << L.covered_ops << " of them were already allowed by "
      << (opts.extends.empty() ? std::string("the profile") : "extends") << "; "
      << L.ancestor_ops << " more were metadata on ancestors of allowed paths.\n";
  o << "# ${CWD} was " << flat(opts.cwd) << ", ${HOME} " << flat(opts.home) << ", ${TMPDIR} " << flat(opts.tmpdir)
    << ".\n"
       "# Directories became DIR/** only where at least "
    << opts.thresholds.tree_min_paths << " paths in " << opts.thresholds.tree_min_branches
    << "+ branches were used\n"
       "# (never /, /X, system containers, nor ${HOME}, ${CWD}, ${TMPDIR} themselves); written\n"
       "# paths are listed one by one except below directories the command created.\n"
       "# Review before use: this allows what one run needed, nothing less.\n";
  o << "version: 1\n";
  o << "name: " << quote(name_of(opts)) << "\n";
  if (!opts.extends.empty()) {
    o << "extends: [";
    for (std::size_t i = 0; i < opts.extends.size(); ++i) o << (i ? ", " : "") << quote(opts.extends[i]);
    o << "]\n";
  }
  if (!L.read.empty() || !L.write.empty() || L.metadata_open) {
    o << "files:\n";
    if (!L.read.empty()) {
      o << "  read:\n";
      list(o, "    ", L.read);
    }
    if (!L.write.empty()) {
      o << "  write:\n";
      list(o, "    ", L.write);
    }
    if (L.metadata_open)
      o << "  metadata: open  # " << L.metadata_ops << " metadata-only ops on paths no rule covers\n";
  }
  if (!L.exec.empty()) {
    o << "exec:\n  allow:\n";
    list(o, "    ", L.exec);
  }
  if (!L.connect.empty() || !L.bind.empty() || L.dns) {
    o << "network:\n";
    if (!L.connect.empty()) {
      o << "  connect:\n";
      list(o, "    ", L.connect);
    }
    if (!L.bind.empty()) {
      o << "  bind:\n";
      list(o, "    ", L.bind);
    }
    if (L.dns) o << "  dns: true  # " << L.dns_ops << (L.dns_ops == 1 ? " op" : " ops") << " to port 53\n";
  }
  if (L.empty()) o << "# The command needed nothing beyond what extends allows.\n";
  return o.str();
}

}  // namespace guardian::policy::learn
