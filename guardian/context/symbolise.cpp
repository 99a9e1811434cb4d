// Symbolising a supervised process's return addresses with elfutils (see symbolise.hpp).
#include "context/symbolise.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <type_traits>

namespace guardian::context {

namespace {

bool parse_hex(std::string_view s, std::uint64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string_view next_field(std::string_view& line) {
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  std::size_t sp = line.find(' ');
  std::string_view f = line.substr(0, sp);
  line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
  return f;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string demangle(const char* name) {
  if (!name) return {};
  if (name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (d && status == 0) {
      std::string s(d);
      std::free(d);
      return s;
    }
    std::free(d);
  }
  return name;
}

// Debug information is used when it is in the module's own file (a program built with -g),
// not looked up in separate packages (/usr/lib/debug): loading libc's full DWARF costs about
// 200 ms per session, paid at the end of every session with a denial, for frames (libc's
// start-up code) that tell a reviewer nothing. Function names still come from the symbol
// tables.
int no_separate_debuginfo(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*,
                          const char*, GElf_Word, char**) {
  return -1;
}

// elfutils, loaded on the first symbolisation rather than with guardian: it is needed only
// when a session with the shim reports a denial, and linking it made every start-up map
// five more libraries (libdw, libelf and their zlib, lzma and bzip2), about 0.3 ms.
struct Elfutils {
  decltype(&dwfl_begin) begin = nullptr;
  decltype(&dwfl_end) end = nullptr;
  decltype(&dwfl_report_begin) report_begin = nullptr;
  decltype(&dwfl_report_elf) report_elf = nullptr;
  decltype(&dwfl_report_end) report_end = nullptr;
  decltype(&dwfl_module_getelf) module_getelf = nullptr;
  decltype(&dwfl_module_addrinfo) module_addrinfo = nullptr;
  decltype(&dwfl_module_getsrc) module_getsrc = nullptr;
  decltype(&dwfl_lineinfo) lineinfo = nullptr;
  decltype(&elf_getphdrnum) getphdrnum = nullptr;
  decltype(&gelf_getphdr) getphdr = nullptr;
  Dwfl_Callbacks callbacks{};
};

// The loaded library, or nullptr when it cannot be had (frames then show file offsets, as
// for a module without symbols); says why once.
const Elfutils* elfutils() {
  static Elfutils e;
  static bool ok = false;
  static std::once_flag once;
  std::call_once(once, [] {
    // The run-time package's soname (libdw1); libelf comes with it as its dependency, and a
    // lookup through the handle searches both.
    void* h = ::dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    auto sym = [h](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(h ? ::dlsym(h, name) : nullptr);
      return fn != nullptr;
    };
    decltype(&dwfl_build_id_find_elf) find_elf = nullptr;
    decltype(&dwfl_offline_section_address) section_address = nullptr;
    ok = h && sym(e.begin, "dwfl_begin") && sym(e.end, "dwfl_end") &&
         sym(e.report_begin, "dwfl_report_begin") && sym(e.report_elf, "dwfl_report_elf") &&
         sym(e.report_end, "dwfl_report_end") && sym(e.module_getelf, "dwfl_module_getelf") &&
         sym(e.module_addrinfo, "dwfl_module_addrinfo") && sym(e.module_getsrc, "dwfl_module_getsrc") &&
         sym(e.lineinfo, "dwfl_lineinfo") && sym(e.getphdrnum, "elf_getphdrnum") &&
         sym(e.getphdr, "gelf_getphdr") && sym(find_elf, "dwfl_build_id_find_elf") &&
         sym(section_address, "dwfl_offline_section_address");
    if (!ok) {
      const char* why = h ? "a symbol is missing" : ::dlerror();
      std::fprintf(stderr, "guardian: notice: cannot load elfutils (libdw.so.1: %s); backtraces show file offsets only\n",
                   why ? why : "unknown error");
      return;
    }
    e.callbacks.find_elf = find_elf;
    e.callbacks.find_debuginfo = no_separate_debuginfo;
    e.callbacks.section_address = section_address;
    e.callbacks.debuginfo_path = nullptr;
  });
  return ok ? &e : nullptr;
}

}  // namespace

std::vector<Mapping> parse_maps(std::string_view text) {
  std::vector<Mapping> out;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view range = next_field(line);
    next_field(line);  // perms
    std::string_view off = next_field(line);
    next_field(line);  // dev
    std::string_view ino = next_field(line);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty()) continue;
    Mapping m;
    std::size_t dash = range.find('-');
    if (dash == std::string_view::npos || !parse_hex(range.substr(0, dash), m.start) ||
        !parse_hex(range.substr(dash + 1), m.end) || !parse_hex(off, m.offset))
      continue;
    std::from_chars(ino.data(), ino.data() + ino.size(), m.inode);
    m.path = std::string(line);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Mapping> read_maps(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_maps(ss.str());
}

struct Symboliser::Module {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* mod = nullptr;
  std::vector<GElf_Phdr> loads;  // PT_LOAD headers: file offset -> link-time address
  ~Module() {
    if (dwfl) elfutils()->end(dwfl);  // only made once elfutils was loaded
  }
};

Symboliser::Symboliser() = default;
Symboliser::~Symboliser() = default;

// One Dwfl per file, reported at bias 0, so lookups use link-time addresses and the same
// file mapped at different places in different processes shares one cache.
Symboliser::Module* Symboliser::module(const Mapping& m) {
  auto key = std::make_pair(m.path, m.inode);
  auto it = modules_.find(key);
  if (it != modules_.end()) return it->second.get();
  if (modules_.size() > 256) modules_.clear(), answers_.clear();
  auto mod = std::make_unique<Module>();
  const Elfutils* eu = elfutils();
  if (eu && !m.path.empty() && m.path.front() == '/') {
    mod->dwfl = eu->begin(&eu->callbacks);
    if (mod->dwfl) {
      eu->report_begin(mod->dwfl);
      mod->mod = eu->report_elf(mod->dwfl, m.path.c_str(), m.path.c_str(), -1, 0, false);
      eu->report_end(mod->dwfl, nullptr, nullptr);
    }
    GElf_Addr bias = 0;
    Elf* elf = mod->mod ? eu->module_getelf(mod->mod, &bias) : nullptr;
    std::size_t n = 0;
    if (elf && eu->getphdrnum(elf, &n) == 0)
      for (std::size_t i = 0; i < n; ++i) {
        GElf_Phdr ph;
        if (eu->getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
          mod->loads.push_back(ph);
      }
  }
  Module* raw = mod.get();
  modules_.emplace(std::move(key), std::move(mod));
  return raw;
}

std::string Symboliser::describe(const Mapping& m, std::uint64_t addr, bool is_return_address) {
  const std::string where = " [" + m.path + "]";
  Module* mod = module(m);
  if (!mod->mod) return hex(addr - m.start + m.offset) + where;
  // File offset of the address, then the link-time address of that byte.
  const std::uint64_t file_off = addr - m.start + m.offset;
  std::uint64_t vaddr = 0;
  bool found = false;
  for (const GElf_Phdr& ph : mod->loads)
    if (file_off >= ph.p_offset && file_off < ph.p_offset + ph.p_memsz) {
      vaddr = ph.p_vaddr + (file_off - ph.p_offset);
      found = true;
      break;
    }
  if (!found) return hex(file_off) + where;
  // A return address points after the call: look up the call instruction itself.
  const std::uint64_t query = is_return_address && vaddr > 0 ? vaddr - 1 : vaddr;
  auto key = std::make_pair(m.inode ? m.inode : std::hash<std::string>{}(m.path), query);
  if (auto it = answers_.find(key); it != answers_.end()) return it->second + where;

  std::string text;
  GElf_Off off = 0;
  GElf_Sym sym;
  const Elfutils* eu = elfutils();  // loaded: mod->mod is set
  const char* name = eu->module_addrinfo(mod->mod, query, &off, &sym, nullptr, nullptr, nullptr);
  if (name) {
    text = demangle(name);
    if (is_return_address) ++off;  // offset of the return address, as other tools print it
    text += "+" + hex(off);
  } else {
    text = hex(vaddr);
  }
  if (Dwfl_Line* line = eu->module_getsrc(mod->mod, query)) {
    int lineno = 0;
    if (const char* file = eu->lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr))
      text += " (" + std::string(file) + ":" + std::to_string(lineno) + ")";
  }
  if (answers_.size() > 65536) answers_.clear();
  answers_.emplace(key, text);
  return text + where;
}

std::vector<std::string> Symboliser::frames(const std::vector<Mapping>& maps,
                                            std::span<const std::uint64_t> addrs,
                                            std::string_view skip) {
  std::vector<std::string> out;
  bool skipping = !skip.empty();
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    const std::uint64_t a = addrs[i];
    const Mapping* m = nullptr;
    for (const Mapping& cand : maps)
      if (a >= cand.start && a < cand.end) {
        m = &cand;
        break;
      }
    if (skipping && m && m->path.size() >= skip.size() &&
        m->path.compare(m->path.size() - skip.size(), skip.size(), skip) == 0)
      continue;
    skipping = false;
    // Frame 0 of the raw stack is the unwinder's own pc; every later one is a return address.
    out.push_back(m ? describe(*m, a, i > 0) : hex(a));
  }
  return out;
}

}  // namespace guardian::context
