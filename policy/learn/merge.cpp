// Widening an existing profile's text with learned rules, keeping what a human wrote there:
// rules, order and comments stay; new items go at the end of the list they belong to.
// yaml-cpp only locates nodes (it would drop comments if it emitted the file).
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <sstream>

#include "policy/learn/generalise.hpp"

namespace guardian::policy::learn {

namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  }
  return out + "\"";
}

std::string flat(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  return out;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    out.emplace_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::size_t indent_of(const std::string& l) {
  std::size_t n = 0;
  while (n < l.size() && l[n] == ' ') ++n;
  return n;
}
bool blank_or_comment(const std::string& l) {
  std::size_t n = indent_of(l);
  return n == l.size() || l[n] == '#';
}

// The last line (0-based) of the block that starts at line `first` with indentation `ind`:
// every following line indented deeper (or blank/comment inside) belongs to it.
std::size_t block_end(const std::vector<std::string>& lines, std::size_t first, std::size_t ind) {
  std::size_t last = first;
  for (std::size_t i = first + 1; i < lines.size(); ++i) {
    if (blank_or_comment(lines[i])) continue;
    if (indent_of(lines[i]) <= ind) break;
    last = i;
  }
  return last;
}

std::string item_line(std::size_t ind, const LearnedRule& r) {
  std::string ev = std::to_string(r.ops) + (r.ops == 1 ? " op" : " ops");
  if (!r.example.empty()) ev += ", e.g. " + flat(r.example);
  return std::string(ind, ' ') + "- " + quote(r.pattern) + "  # merged: " + ev;
}

// One edit; returns false with `error` when the layout is not one this code edits safely.
bool add_items(std::string& text, const char* section, const char* key, const std::vector<LearnedRule>& rules,
               std::string& error) {
  if (rules.empty()) return true;
  YAML::Node root = YAML::Load(text);
  auto lines = lines_of(text);
  auto items = [&](std::size_t ind) {
    std::vector<std::string> v;
    for (const auto& r : rules) v.push_back(item_line(ind, r));
    return v;
  };
  YAML::Node sec = root[section];
  if (!sec || sec.IsNull()) {
    if (sec && sec.IsNull()) {  // "files:" with nothing: add below its line
      std::size_t l = static_cast<std::size_t>(sec.Mark().line);
      std::vector<std::string> add{"  " + std::string(key) + ":"};
      for (auto& s : items(4)) add.push_back(s);
      lines.insert(lines.begin() + static_cast<long>(std::min(l + 1, lines.size())), add.begin(), add.end());
    } else {
      lines.push_back(std::string(section) + ":");
      lines.push_back("  " + std::string(key) + ":");
      for (auto& s : items(4)) lines.push_back(s);
    }
    text = join(lines);
    return true;
  }
  if (!sec.IsMap() || sec.Style() == YAML::EmitterStyle::Flow) {
    error = std::string("cannot merge into '") + section + "': write it as a block mapping";
    return false;
  }
  YAML::Node list = sec[key];
  // The line of the section key and the indentation of its members.
  std::size_t first_member_line = static_cast<std::size_t>(sec.begin()->first.Mark().line);
  std::size_t member_ind = static_cast<std::size_t>(sec.begin()->first.Mark().column);
  if (!list) {
    // a new key at the end of the section's block
    std::size_t end = block_end(lines, first_member_line, member_ind - 1);
    for (auto it = sec.begin(); it != sec.end(); ++it) {
      std::size_t kl = static_cast<std::size_t>(it->first.Mark().line);
      end = std::max(end, block_end(lines, kl, member_ind));
    }
    std::vector<std::string> add{std::string(member_ind, ' ') + key + ":"};
    for (auto& s : items(member_ind + 2)) add.push_back(s);
    lines.insert(lines.begin() + static_cast<long>(end + 1), add.begin(), add.end());
    text = join(lines);
    return true;
  }
  // find the key line for this list
  std::size_t key_line = 0;
  for (auto it = sec.begin(); it != sec.end(); ++it)
    if (it->first.as<std::string>() == key) key_line = static_cast<std::size_t>(it->first.Mark().line);
  if (list.IsNull()) {
    std::vector<std::string> add = items(member_ind + 2);
    lines.insert(lines.begin() + static_cast<long>(key_line + 1), add.begin(), add.end());
    text = join(lines);
    return true;
  }
  if (!list.IsSequence()) {
    error = std::string("cannot merge into '") + section + "." + key + "': it is not a list";
    return false;
  }
  if (list.Style() == YAML::EmitterStyle::Flow || list.size() == 0) {
    // rewrite "key: [a, b]  # c" as a block list, keeping the trailing comment
    if (static_cast<std::size_t>(list.Mark().line) != key_line) {
      error = std::string("cannot merge into '") + section + "." + key + "': a flow list over several lines";
      return false;
    }
    std::string& l = lines[key_line];
    std::size_t open = static_cast<std::size_t>(list.Mark().column);
    std::size_t close = l.rfind(']');
    if (open >= l.size() || l[open] != '[' || close == std::string::npos || close < open) {
      error = std::string("cannot merge into '") + section + "." + key + "': unexpected layout";
      return false;
    }
    std::string rest = l.substr(close + 1);
    l = l.substr(0, open);
    while (!l.empty() && l.back() == ' ') l.pop_back();
    l += rest;
    std::vector<std::string> add;
    for (const auto& item : list) add.push_back(std::string(member_ind + 2, ' ') + "- " + quote(item.as<std::string>()));
    for (auto& s : items(member_ind + 2)) add.push_back(s);
    lines.insert(lines.begin() + static_cast<long>(key_line + 1), add.begin(), add.end());
    text = join(lines);
    return true;
  }
  // block list: after the last item, with the first item's indentation
  std::size_t first_item = static_cast<std::size_t>(list[0].Mark().line);
  std::size_t item_ind = indent_of(lines[first_item]);
  std::size_t last = block_end(lines, static_cast<std::size_t>(list[list.size() - 1].Mark().line), item_ind);
  std::vector<std::string> add = items(item_ind);
  lines.insert(lines.begin() + static_cast<long>(last + 1), add.begin(), add.end());
  text = join(lines);
  return true;
}

// Sets a scalar member (metadata: open, dns: true), replacing its value or adding the key.
bool set_scalar(std::string& text, const char* section, const char* key, const char* value, const std::string& why,
                std::string& error) {
  YAML::Node root = YAML::Load(text);
  YAML::Node sec = root[section];
  if (sec && sec.IsMap() && sec.Style() != YAML::EmitterStyle::Flow && sec[key]) {
    auto lines = lines_of(text);
    for (auto it = sec.begin(); it != sec.end(); ++it) {
      if (it->first.as<std::string>() != key) continue;
      std::size_t kl = static_cast<std::size_t>(it->first.Mark().line);
      std::size_t ind = static_cast<std::size_t>(it->first.Mark().column);
      lines[kl] = std::string(ind, ' ') + key + ": " + value + "  # merged: " + why;
      text = join(lines);
      return true;
    }
  }
  // add it as a one-item "list" edit would: reuse add_items' placement via a marker rule
  if (sec && (!sec.IsMap() || sec.Style() == YAML::EmitterStyle::Flow)) {
    error = std::string("cannot merge into '") + section + "': write it as a block mapping";
    return false;
  }
  auto lines = lines_of(text);
  std::string line = std::string(key) + ": " + value + "  # merged: " + why;
  if (!sec || sec.IsNull()) {
    if (!sec) lines.push_back(std::string(section) + ":");
    std::size_t at = sec ? static_cast<std::size_t>(sec.Mark().line) + 1 : lines.size();
    lines.insert(lines.begin() + static_cast<long>(std::min(at, lines.size())), "  " + line);
  } else {
    std::size_t ind = static_cast<std::size_t>(sec.begin()->first.Mark().column);
    std::size_t end = 0;
    for (auto it = sec.begin(); it != sec.end(); ++it)
      end = std::max(end, block_end(lines, static_cast<std::size_t>(it->first.Mark().line), ind));
    lines.insert(lines.begin() + static_cast<long>(end + 1), std::string(ind, ' ') + line);
  }
  text = join(lines);
  return true;
}

}  // namespace

bool merge_profile(std::string_view old_text, const Learned& L, std::string& out, std::string& error) {
  std::string text(old_text);
  if (!text.empty() && text.back() != '\n') text += '\n';
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) {
      error = "the profile is not a YAML mapping";
      return false;
    }
    if (!add_items(text, "files", "read", L.read, error) || !add_items(text, "files", "write", L.write, error) ||
        !add_items(text, "exec", "allow", L.exec, error) || !add_items(text, "network", "connect", L.connect, error) ||
        !add_items(text, "network", "bind", L.bind, error))
      return false;
    if (L.metadata_open &&
        !set_scalar(text, "files", "metadata", "open", std::to_string(L.metadata_ops) + " metadata-only ops", error))
      return false;
    if (L.dns && !set_scalar(text, "network", "dns", "true", std::to_string(L.dns_ops) + " ops to port 53", error))
      return false;
  } catch (const YAML::Exception& e) {
    error = "cannot edit the profile: " + std::string(e.what());
    return false;
  }
  out = std::move(text);
  return true;
}

}  // namespace guardian::policy::learn
