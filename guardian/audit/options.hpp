// Command-line options of the audit log for `guardian run` and `learn`: one table to add
// to theirs and one function to turn the parsed values into audit::Options.
#pragma once

#include <cstdint>
#include <string_view>

#include <boost/program_options.hpp>

#include "audit/log.hpp"
#include "base/result.hpp"

namespace guardian::audit {

// Adds --audit-format and --audit-rotate; with_destination also adds -a/--audit.
void add_options(boost::program_options::options_description& desc, bool with_destination = true);

// Reads the values add_options() declared (absent ones keep their defaults) and checks
// them: unknown format, bad size, rotation without a file destination are errors.
Result<Options> options_from(const boost::program_options::variables_map& vm);

// "10M", "512k", "1GiB", "4096" -> bytes (K/M/G/T, powers of 1024; an optional "iB"/"B").
Result<std::uint64_t> parse_size(std::string_view text);

}  // namespace guardian::audit
