// Scalar value parsers of the profile format (durations, sizes, errno names) and the
// "did you mean" key suggester. Internal to policy/ (used by the loader and the CLI).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardian::policy {

// "90s", "10m", "1h30m", "1.5h", "250ms", "2d", or a bare number of seconds. > 0.
std::optional<double> parse_duration(std::string_view s);

// "512M", "2GiB", "1.5G", "4096", "100KB". K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024,
// KB/MB/GB/TB powers of 1000, B or no unit bytes. > 0.
std::optional<std::uint64_t> parse_size(std::string_view s);

// "EACCES", "EPERM", ... or a number 1..4095.
std::optional<int> parse_errno(std::string_view s);

// The candidate closest to `word` (edit distance <= 2, case-insensitive), or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// Credential-looking environment variable names dropped by `default` (spec §2 `env`).
const std::vector<std::string>& default_env_drop();

}  // namespace guardian::policy
