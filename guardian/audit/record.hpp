// The record model between the AuditLog front (callers) and the writer thread: one queued
// Item per event, rendered to canonical v1 JSON (or OCSF) and chained with SHA-256.
#pragma once

#include <time.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "audit/log.hpp"
#include "policy/profile.hpp"

namespace guardian::audit {

// One event waiting for the writer. Times are taken when the event is enqueued.
struct Item {
  timespec ts{};
  std::variant<SessionStart, DecisionRecord, ProcessRecord, LimitRecord, SessionEnd> body;
  std::optional<policy::RuleOrigin> rule;  // DecisionRecord::rule, copied (the pointer is cleared)
};

// What the writer adds to each record.
struct RenderContext {
  std::string_view session;
  std::uint64_t seq = 0;
  // session_end only:
  std::array<std::uint64_t, 4> counts{};  // by policy::Verdict
  std::string_view prev_hash;            // hash of the record before session_end
};

// RFC 3339 UTC with nanoseconds: 2026-11-23T20:23:40.123456789Z.
void append_ts(std::string& out, const timespec& ts);

// The event name of an item ("session_start", "decision", ...).
std::string_view event_name(const Item& item);

// Appends the canonical v1 text of the record (a JSON object, no `hash`, no newline).
void render_v1(const Item& item, const RenderContext& ctx, std::string& out);

// Appends the OCSF 1.1 text of the record (a JSON object, no `hash`), embedding the v1
// text in `unmapped` so nothing is lost and `guardian audit` can still read it.
void render_ocsf(const Item& item, const RenderContext& ctx, std::string_view v1, std::string& out);

// The hash chain. Each written line is CANON with `,"hash":"HEX"` inserted before the
// final '}', where HEX = SHA-256(previous HEX + CANON); the first record of a session
// uses kChainSeed as the previous hash.
inline constexpr std::string_view kChainSeed =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr std::size_t kHashSuffixLen = 75;  // ,"hash":"<64 hex>"}

// Hash of a record given the previous hash and the record's canonical text.
std::string chain_hash(std::string_view prev_hex, std::string_view canonical);

// Turns canonical text (ending in '}') into the written line by adding the hash field.
void append_hash_field(std::string& canonical_in_out, std::string_view hash_hex);

// Splits a written line: stored hash and the line without its hash field (as two pieces:
// body = text before `,"hash"`, to be followed by "}" to form the canonical text).
// False when the line does not end with a well-formed hash field.
bool split_hashed_line(std::string_view line, std::string_view& body, std::string_view& hash);

// Hash of a written line's canonical text (body + "}"), chained on prev_hex.
std::string chain_hash_body(std::string_view prev_hex, std::string_view body);

}  // namespace guardian::audit
