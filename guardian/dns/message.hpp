// DNS wire format (RFC 1035/3596/6891): a strict, bounds-checked parser for the queries a
// tracee sends and the answers resolvers return, and builders for queries and refusals.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardian::dns {

constexpr std::uint16_t kTypeA = 1, kTypeCname = 5, kTypeAaaa = 28, kTypeOpt = 41;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint8_t kRcodeNoError = 0, kRcodeFormErr = 1, kRcodeNxDomain = 3,
                       kRcodeRefused = 5;

struct Question {
  std::string name;  // lower case, without the final dot ("" for the root)
  std::uint16_t type = 0, klass = 0;
};

// One resource record; rdata kept raw except for the types the gate reads.
struct Record {
  std::string name;  // lower case, no final dot
  std::uint16_t type = 0, klass = 0;
  std::uint32_t ttl = 0;
  std::string target;                // CNAME: the canonical name (lower case)
  bool v4 = false;                   // A
  std::array<std::uint8_t, 16> ip{};  // A (bytes 12..15) or AAAA, network order
};

struct Message {
  std::uint16_t id = 0;
  bool response = false;
  std::uint8_t opcode = 0, rcode = 0;
  bool rd = false;
  std::vector<Question> questions;
  std::vector<Record> answers;  // answer section only (authority/additional are skipped)
  bool edns = false;            // an OPT record was present in the additional section
};

// Parses `wire`; nullopt with `error` set when it is malformed: truncated, a label longer
// than 63 or a name longer than 255 bytes, a compression pointer that does not point
// strictly backwards (loops), trailing garbage, or more records than the packet can hold.
std::optional<Message> parse(std::string_view wire, std::string* error);

// A standard query (RD set) for `name`, type `type`, class IN.
std::string build_query(std::uint16_t id, std::string_view name, std::uint16_t type);

// An answer to `query` with `rcode` and no records (REFUSED for denied names): the header
// id, RD flag and the question echoed, as resolvers expect. Empty when `query` has no
// parsable question (then there is nothing to answer).
std::string build_error_answer(std::string_view query, std::uint8_t rcode);

// A response for tests and the gate: the question and `answers` (A/AAAA/CNAME).
std::string build_answer(std::uint16_t id, const Question& q, const std::vector<Record>& answers,
                         std::uint8_t rcode = kRcodeNoError);

// The addresses `m` answers for `name`, following CNAME chains inside the answer section
// (at most 16 steps). `names` receives every name of the chain, `name` first; `min_ttl`
// the smallest TTL along the way. Records not on the chain are ignored.
std::vector<Record> addresses_for(const Message& m, std::string_view name,
                                  std::vector<std::string>* names, std::uint32_t* min_ttl);

}  // namespace guardian::dns
