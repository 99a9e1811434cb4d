// DNS wire format parser and builders; every read is bounds-checked against the packet.
#include "dns/message.hpp"

#include <cctype>
#include <cstring>

namespace guardian::dns {

namespace {

struct Reader {
  std::string_view w;
  std::size_t pos = 0;
  std::string* err;

  bool fail(const char* m) {
    if (err && err->empty()) *err = m;
    return false;
  }
  bool u8(std::uint8_t& v) {
    if (pos + 1 > w.size()) return fail("truncated");
    v = static_cast<std::uint8_t>(w[pos++]);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (pos + 2 > w.size()) return fail("truncated");
    v = static_cast<std::uint16_t>((static_cast<std::uint8_t>(w[pos]) << 8) |
                                   static_cast<std::uint8_t>(w[pos + 1]));
    pos += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint16_t a, b;
    if (!u16(a) || !u16(b)) return false;
    v = (std::uint32_t{a} << 16) | b;
    return true;
  }
  // Reads a possibly compressed name. Pointers must point strictly before the place they
  // were read from, so every jump goes backwards and a loop is impossible.
  bool name(std::string& out) {
    out.clear();
    std::size_t p = pos, wire_len = 0;
    bool jumped = false;
    for (int steps = 0; steps < 256; ++steps) {
      if (p >= w.size()) return fail("truncated name");
      auto len = static_cast<std::uint8_t>(w[p]);
      if ((len & 0xc0) == 0xc0) {
        if (p + 2 > w.size()) return fail("truncated pointer");
        std::size_t target = ((len & 0x3f) << 8) | static_cast<std::uint8_t>(w[p + 1]);
        if (target >= p) return fail("compression pointer does not point backwards");
        if (!jumped) pos = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      if (len & 0xc0) return fail("bad label type");
      if (len == 0) {
        if (!jumped) pos = p + 1;
        return true;
      }
      if (p + 1 + len > w.size()) return fail("truncated label");
      wire_len += len + 1;
      if (wire_len + 1 > 255) return fail("name longer than 255 bytes");
      if (!out.empty()) out += '.';
      for (std::size_t i = 0; i < len; ++i)
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(w[p + 1 + i])));
      p += 1 + len;
    }
    return fail("too many labels");
  }
};

void put16(std::string& s, std::uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v & 0xff);
}

void put32(std::string& s, std::uint32_t v) {
  put16(s, static_cast<std::uint16_t>(v >> 16));
  put16(s, static_cast<std::uint16_t>(v & 0xffff));
}

void put_name(std::string& s, std::string_view name) {
  while (!name.empty()) {
    auto dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.size() > 63) label = label.substr(0, 63);
    s += static_cast<char>(label.size());
    s += label;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  s += '\0';
}

std::string header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an) {
  std::string s;
  put16(s, id);
  put16(s, flags);
  put16(s, qd);
  put16(s, an);
  put16(s, 0);
  put16(s, 0);
  return s;
}

}  // namespace

std::optional<Message> parse(std::string_view wire, std::string* error) {
  std::string local;
  if (!error) error = &local;
  error->clear();
  Reader r{wire, 0, error};
  Message m;
  std::uint16_t flags, qd, an, ns, ar;
  if (!r.u16(m.id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar))
    return std::nullopt;
  m.response = flags & 0x8000;
  m.opcode = (flags >> 11) & 0xf;
  m.rd = flags & 0x0100;
  m.rcode = flags & 0xf;
  // Each question takes at least 5 bytes, each record at least 11: refuse counts the
  // packet cannot hold before reserving anything.
  if (std::size_t{qd} * 5 + (std::size_t{an} + ns + ar) * 11 > wire.size() - 12) {
    *error = "record counts exceed the packet";
    return std::nullopt;
  }
  for (unsigned i = 0; i < qd; ++i) {
    Question q;
    if (!r.name(q.name) || !r.u16(q.type) || !r.u16(q.klass)) return std::nullopt;
    m.questions.push_back(std::move(q));
  }
  unsigned total = unsigned{an} + ns + ar;
  for (unsigned i = 0; i < total; ++i) {
    Record rec;
    std::uint16_t rdlen;
    if (!r.name(rec.name) || !r.u16(rec.type) || !r.u16(rec.klass) || !r.u32(rec.ttl) ||
        !r.u16(rdlen))
      return std::nullopt;
    if (r.pos + rdlen > wire.size()) {
      *error = "truncated record data";
      return std::nullopt;
    }
    std::size_t end = r.pos + rdlen;
    if (rec.type == kTypeOpt) {
      if (i < unsigned{an} + ns || !rec.name.empty()) {
        *error = "OPT record outside the additional section";
        return std::nullopt;
      }
      m.edns = true;
    }
    if (i < an && rec.type == kTypeA) {
      if (rdlen != 4) {
        *error = "A record with a length other than 4";
        return std::nullopt;
      }
      rec.v4 = true;
      std::memcpy(&rec.ip[12], wire.data() + r.pos, 4);
    } else if (i < an && rec.type == kTypeAaaa) {
      if (rdlen != 16) {
        *error = "AAAA record with a length other than 16";
        return std::nullopt;
      }
      std::memcpy(rec.ip.data(), wire.data() + r.pos, 16);
    } else if (i < an && rec.type == kTypeCname) {
      Reader sub{wire.substr(0, end), r.pos, error};
      if (!sub.name(rec.target)) return std::nullopt;
      if (sub.pos != end) {
        *error = "CNAME data longer than its name";
        return std::nullopt;
      }
    }
    r.pos = end;
    if (i < an) m.answers.push_back(std::move(rec));
  }
  if (r.pos != wire.size()) {
    *error = "trailing bytes after the last record";
    return std::nullopt;
  }
  return m;
}

std::string build_query(std::uint16_t id, std::string_view name, std::uint16_t type) {
  std::string s = header(id, 0x0100, 1, 0);
  put_name(s, name);
  put16(s, type);
  put16(s, kClassIn);
  return s;
}

std::string build_error_answer(std::string_view query, std::uint8_t rcode) {
  auto q = parse(query, nullptr);
  if (!q || q->response || q->questions.size() != 1) return {};
  std::uint16_t flags = 0x8000 | (q->opcode << 11) | (q->rd ? 0x0100 : 0) | 0x0080 | (rcode & 0xf);
  std::string s = header(q->id, flags, 1, 0);
  put_name(s, q->questions[0].name);
  put16(s, q->questions[0].type);
  put16(s, q->questions[0].klass);
  return s;
}

std::string build_answer(std::uint16_t id, const Question& q, const std::vector<Record>& answers,
                         std::uint8_t rcode) {
  std::string s = header(id, 0x8180 | (rcode & 0xf), 1, static_cast<std::uint16_t>(answers.size()));
  put_name(s, q.name);
  put16(s, q.type);
  put16(s, q.klass ? q.klass : kClassIn);
  for (const Record& r : answers) {
    put_name(s, r.name);
    put16(s, r.type);
    put16(s, r.klass ? r.klass : kClassIn);
    put32(s, r.ttl);
    if (r.type == kTypeCname) {
      std::string t;
      put_name(t, r.target);
      put16(s, static_cast<std::uint16_t>(t.size()));
      s += t;
    } else if (r.type == kTypeA) {
      put16(s, 4);
      s.append(reinterpret_cast<const char*>(&r.ip[12]), 4);
    } else {
      put16(s, 16);
      s.append(reinterpret_cast<const char*>(r.ip.data()), 16);
    }
  }
  return s;
}

std::vector<Record> addresses_for(const Message& m, std::string_view name,
                                  std::vector<std::string>* names, std::uint32_t* min_ttl) {
  std::vector<Record> out;
  std::string cur(name);
  while (!cur.empty() && cur.back() == '.') cur.pop_back();
  for (auto& ch : cur) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::uint32_t ttl = UINT32_MAX;
  if (names) names->assign(1, cur);
  for (int step = 0; step < 16; ++step) {
    const Record* cname = nullptr;
    for (const Record& r : m.answers) {
      if (r.name != cur) continue;
      if (r.type == kTypeA || r.type == kTypeAaaa) {
        out.push_back(r);
        ttl = std::min(ttl, r.ttl);
      } else if (r.type == kTypeCname && !cname) {
        cname = &r;
      }
    }
    if (!out.empty() || !cname) break;
    ttl = std::min(ttl, cname->ttl);
    cur = cname->target;
    if (names) names->push_back(cur);
  }
  if (min_ttl) *min_ttl = out.empty() ? 0 : ttl;
  return out;
}

}  // namespace guardian::dns
