// Audit options for `guardian run` / `learn` (see options.hpp and the note in log.hpp).
#include "audit/options.hpp"

#include <cctype>
#include <string>

namespace guardian::audit {

namespace po = boost::program_options;

void add_options(po::options_description& desc, bool with_destination) {
  if (with_destination)
    desc.add_options()("audit,a", po::value<std::string>()->value_name("PATH|-|syslog|journald"),
                       "audit log destination (JSON Lines); '-' is stderr");
  desc.add_options()("audit-format", po::value<std::string>()->value_name("jsonl|ocsf"),
                     "record format: guardian's own (jsonl, default) or OCSF 1.1")(
      "audit-rotate", po::value<std::string>()->value_name("SIZE"),
      "start a new audit file when this one would exceed SIZE (e.g. 100M); the old one becomes PATH.N");
}

Result<std::uint64_t> parse_size(std::string_view text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > (UINT64_MAX - 9) / 10) return fail("size too large: '" + std::string(text) + "'");
    n = n * 10 + static_cast<std::uint64_t>(text[i++] - '0');
  }
  if (i == 0) return fail("bad size '" + std::string(text) + "' (expected a number with an optional K, M, G or T)");
  std::string unit(text.substr(i));
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = 0;
  if (!unit.empty()) {
    switch (unit[0]) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      case 'B': shift = 0; break;
      default: return fail("bad size '" + std::string(text) + "' (expected a number with an optional K, M, G or T)");
    }
    std::string rest = unit.substr(1);
    if (unit[0] == 'B' ? !rest.empty() : !(rest.empty() || rest == "B" || rest == "IB"))
      return fail("bad size '" + std::string(text) + "' (expected a number with an optional K, M, G or T)");
  }
  if (shift && n > (UINT64_MAX >> shift)) return fail("size too large: '" + std::string(text) + "'");
  return n << shift;
}

Result<Options> options_from(const po::variables_map& vm) {
  Options o;
  if (vm.count("audit")) o.destination = vm["audit"].as<std::string>();
  if (vm.count("audit-format")) {
    o.format = vm["audit-format"].as<std::string>();
    if (o.format != "jsonl" && o.format != "ocsf")
      return fail("unknown --audit-format '" + o.format + "' (expected jsonl or ocsf)");
  }
  if (vm.count("audit-rotate")) {
    auto n = parse_size(vm["audit-rotate"].as<std::string>());
    if (!n) return fail("--audit-rotate: " + n.error().message);
    if (n.value() == 0) return fail("--audit-rotate: size must be greater than 0");
    o.rotate_bytes = n.value();
    if (o.destination.empty() || o.destination == "-" || o.destination == "syslog" || o.destination == "journald")
      return fail("--audit-rotate needs a file destination (--audit PATH)");
  }
  return o;
}

}  // namespace guardian::audit
