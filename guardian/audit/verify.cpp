// `guardian audit verify`: replays the hash chain of each session and checks seq, the
// session_end totals and that every session is complete. Any edit, deletion, insertion,
// reordering or truncation shows up as a problem naming the file and line.
#include <string>
#include <unordered_map>

#include "audit/reader.hpp"
#include "audit/record.hpp"
#include "audit/review.hpp"

namespace guardian::audit {
namespace {

struct Chain {
  std::string prev;            // hash of the last accepted record
  std::uint64_t next_seq = 1;  // seq the next record must carry
  bool ended = false;
  const std::string* last_file = nullptr;  // where the last record was seen
  std::uint64_t last_line = 0;
  std::uint64_t records = 0;
};

}  // namespace

int verify(const std::vector<std::string>& files, std::FILE* out) {
  std::unordered_map<std::string, Chain> chains;
  std::vector<std::string> order;  // sessions in order of appearance
  std::uint64_t problems = 0, records = 0;
  std::string last_hash;
  Record rec;
  std::string err, session_buf, event_buf, cur_session;
  Chain* cur = nullptr;
  auto problem = [&](const LineRef& l, const std::string& what) {
    ++problems;
    if (problems <= 100)
      std::fprintf(out, "%s:%llu: %s\n", l.file->c_str(), static_cast<unsigned long long>(l.lineno), what.c_str());
  };
  std::string io = for_each_line(files, [&](const LineRef& l) {
    if (!l.terminated) {
      problem(l, "last line cut short (no newline): log truncated while being written or edited");
      return;
    }
    std::string_view body, hash;
    if (!split_hashed_line(l.text, body, hash)) {
      problem(l, l.text.empty() ? "empty line (inserted?)" : "record has no hash field (edited or inserted)");
      return;
    }
    if (!parse_line(l.text, rec, err)) {
      problem(l, "malformed record (" + err + "): edited or inserted");
      return;
    }
    ++records;
    std::string_view session = rec.sv("session", session_buf);
    std::string_view event = rec.sv("event", event_buf);
    auto seq_opt = rec.i64("seq");
    if (session.empty() || !seq_opt || *seq_opt < 1) {
      problem(l, "record lacks session or seq: edited or inserted");
      return;
    }
    auto seq = static_cast<std::uint64_t>(*seq_opt);
    // Consecutive records almost always share a session: skip the map lookup then.
    if (!cur || session != cur_session) {
      cur_session.assign(session);
      auto found = chains.find(cur_session);
      cur = found == chains.end() ? nullptr : &found->second;
    }
    if (!cur) {
      Chain c;
      c.prev = std::string(kChainSeed);
      if (event != "session_start" || seq != 1) {
        problem(l, "session " + std::string(session) + " starts at seq " + std::to_string(seq) + " (" +
                       std::string(event) +
                       "): its earlier records are missing (deleted, or give the older rotated files first)");
        c.prev = std::string(hash);
        c.next_seq = seq + 1;
      }
      cur = &chains.emplace(cur_session, std::move(c)).first->second;
      order.emplace_back(session);
      if (event != "session_start" || seq != 1) {
        cur->last_file = l.file;
        cur->last_line = l.lineno;
        ++cur->records;
        return;
      }
    }
    Chain& c = *cur;
    if (c.ended) {
      problem(l, "record after the session's session_end (inserted)");
      return;
    }
    std::string computed = chain_hash_body(c.prev, body);
    if (seq < c.next_seq) {
      problem(l, "seq " + std::to_string(seq) + " where " + std::to_string(c.next_seq) +
                     " was expected: record inserted, duplicated or moved");
      return;  // keep the chain where it was: the following records still verify
    }
    if (seq > c.next_seq) {
      problem(l, "seq jumps from " + std::to_string(c.next_seq - 1) + " to " + std::to_string(seq) + ": " +
                     std::to_string(seq - c.next_seq) + " record(s) deleted or moved before this line");
    } else if (computed != hash) {
      problem(l, "hash mismatch: this record was edited (or the one before it was edited and re-hashed)");
    }
    c.prev = std::string(hash);
    c.next_seq = seq + 1;
    c.last_file = l.file;
    c.last_line = l.lineno;
    ++c.records;
    if (event == "session_end") {
      c.ended = true;
      auto n = rec.i64("records");
      if (!n || static_cast<std::uint64_t>(*n) != seq)
        problem(l, "session_end counts " + (n ? std::to_string(*n) : std::string("no")) + " records but is seq " +
                       std::to_string(seq));
      std::string fh = rec.str("final_hash");
      if (fh.empty()) problem(l, "session_end has no final_hash");
    }
    last_hash = std::string(hash);
  });
  if (!io.empty()) {
    std::fprintf(stderr, "guardian: %s\n", io.c_str());
    return 125;
  }
  for (const std::string& s : order) {
    const Chain& c = chains[s];
    if (!c.ended) {
      ++problems;
      std::fprintf(out, "%s:%llu: session %s is incomplete: no session_end after seq %llu (log truncated, or the "
                   "session is still running)\n",
                   c.last_file->c_str(), static_cast<unsigned long long>(c.last_line), s.c_str(),
                   static_cast<unsigned long long>(c.next_seq - 1));
    }
  }
  if (records == 0 && problems == 0) {
    std::fprintf(out, "FAILED: no audit records\n");
    return 1;
  }
  if (problems > 100) std::fprintf(out, "(%llu more problems not listed)\n", static_cast<unsigned long long>(problems - 100));
  if (problems) {
    std::fprintf(out, "FAILED: %llu problem%s in %llu records\n", static_cast<unsigned long long>(problems),
                 problems == 1 ? "" : "s", static_cast<unsigned long long>(records));
    return 1;
  }
  std::fprintf(out, "OK: %llu records, %zu session%s, intact and complete; final hash %s\n",
               static_cast<unsigned long long>(records), order.size(), order.size() == 1 ? "" : "s",
               last_hash.c_str());
  return 0;
}

}  // namespace guardian::audit
