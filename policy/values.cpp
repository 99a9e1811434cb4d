// Scalar value parsers (durations, sizes, errno names) and key suggestions.
#include "policy/values.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace guardian::policy {

namespace {

// Reads a non-negative decimal number at s[*i]; false when none.
bool read_number(std::string_view s, std::size_t* i, double* out) {
  std::size_t start = *i;
  bool dot = false;
  while (*i < s.size() && (std::isdigit(static_cast<unsigned char>(s[*i])) || (s[*i] == '.' && !dot))) {
    if (s[*i] == '.') dot = true;
    ++*i;
  }
  if (*i == start || (*i - start == 1 && dot)) return false;
  *out = std::strtod(std::string(s.substr(start, *i - start)).c_str(), nullptr);
  return true;
}

std::string upper(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

std::optional<double> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  double total = 0, v = 0;
  if (read_number(s, &i, &v) && i == s.size()) return v > 0 ? std::optional<double>(v) : std::nullopt;
  i = 0;
  while (i < s.size()) {
    if (!read_number(s, &i, &v)) return std::nullopt;
    std::size_t u = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(u, i - u);
    double mul;
    if (unit == "ms") mul = 0.001;
    else if (unit == "s") mul = 1;
    else if (unit == "m") mul = 60;
    else if (unit == "h") mul = 3600;
    else if (unit == "d") mul = 86400;
    else return std::nullopt;
    total += v * mul;
  }
  if (!(total > 0) || !std::isfinite(total)) return std::nullopt;
  return total;
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::size_t i = 0;
  double v = 0;
  if (!read_number(s, &i, &v)) return std::nullopt;
  std::string unit = upper(s.substr(i));
  double mul;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "K" || unit == "KIB") mul = 1024.0;
  else if (unit == "M" || unit == "MIB") mul = 1024.0 * 1024;
  else if (unit == "G" || unit == "GIB") mul = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TIB") mul = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB") mul = 1e3;
  else if (unit == "MB") mul = 1e6;
  else if (unit == "GB") mul = 1e9;
  else if (unit == "TB") mul = 1e12;
  else return std::nullopt;
  double bytes = v * mul;
  if (!(bytes >= 1) || bytes > 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

std::optional<int> parse_errno(std::string_view s) {
  static const struct {
    const char* name;
    int value;
  } table[] = {
      {"EPERM", 1},         {"ENOENT", 2},        {"EIO", 5},           {"ENXIO", 6},
      {"EBADF", 9},         {"EAGAIN", 11},       {"ENOMEM", 12},       {"EACCES", 13},
      {"EFAULT", 14},       {"EBUSY", 16},        {"EEXIST", 17},       {"EXDEV", 18},
      {"ENODEV", 19},       {"ENOTDIR", 20},      {"EISDIR", 21},       {"EINVAL", 22},
      {"ENOSPC", 28},       {"EROFS", 30},        {"ENOSYS", 38},       {"ENOTSUP", 95},
      {"EOPNOTSUPP", 95},   {"EAFNOSUPPORT", 97}, {"EADDRINUSE", 98},   {"EADDRNOTAVAIL", 99},
      {"ENETUNREACH", 101}, {"ECONNRESET", 104},  {"ETIMEDOUT", 110},   {"ECONNREFUSED", 111},
      {"EHOSTUNREACH", 113},
  };
  for (const auto& e : table)
    if (s == e.name) return e.value;
  if (!s.empty() && s.size() <= 4 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int v = std::atoi(std::string(s).c_str());
    if (v >= 1 && v <= 4095) return v;
  }
  return std::nullopt;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string w = upper(word);
  std::string best;
  std::size_t best_d = 3;
  for (std::string_view c : candidates) {
    std::string cu = upper(c);
    // Levenshtein distance, small strings only.
    if (w.size() > 64 || cu.size() > 64) continue;
    std::vector<std::size_t> prev(cu.size() + 1), cur(cu.size() + 1);
    for (std::size_t j = 0; j <= cu.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= w.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= cu.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (w[i - 1] == cu[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    std::size_t d = prev[cu.size()];
    if (d < best_d && d < std::max<std::size_t>(cu.size(), 2)) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

const std::vector<std::string>& default_env_drop() {
  static const std::vector<std::string> list = {
      "*TOKEN*",   "*SECRET*",       "*PASSWORD*",   "*PASSWD*",      "*CREDENTIAL*", "*_KEY",
      "*_KEY_*",   "*APIKEY*",       "*API_KEY*",    "*PRIVATE_KEY*", "*_AUTH",       "*_AUTH_*",
      "AWS_*",          "AZURE_*",      "GOOGLE_APPLICATION_CREDENTIALS",
      "SSH_AUTH_SOCK", "GPG_AGENT_INFO", "*_PAT",   "DATABASE_URL", "*_DSN",
      // MYSQL_PWD (the mysql clients' password), *_PASS (SMTP_PASS, FTP_PASS...), key and
      // vault passphrases (BORG_PASSPHRASE, ANSIBLE_VAULT_PASSPHRASE...). PWD and OLDPWD,
      // which every shell needs, have no '_' before PWD.
      "*_PWD",         "*_PASS",         "*PASSPHRASE*",
  };
  return list;
}

}  // namespace guardian::policy
