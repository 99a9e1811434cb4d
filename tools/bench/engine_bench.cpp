// engine_bench: median ns per Engine::decide over a 200-rule profile and 1M mixed queries
// (file read/write/stat/exec with hits, misses, denials and deep paths, plus connects).
// usage: engine_bench [QUERIES]   (not a test: run it and read the figure)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "policy/engine.hpp"
#include "policy/loader.hpp"

using namespace guardian::policy;

namespace {

// A 200-rule profile in the shape real ones have: trees, globs, braces, ** denies.
std::string make_profile() {
  std::string y = "version: 1\nfiles:\n  read:\n";
  for (int i = 0; i < 50; ++i) y += "    - /bench/srv/app" + std::to_string(i) + "/**\n";
  for (int i = 0; i < 20; ++i) y += "    - /bench/share/d" + std::to_string(i) + "/*.{txt,md}\n";
  y += "  write:\n";
  for (int i = 0; i < 40; ++i) y += "    - /bench/work/proj" + std::to_string(i) + "/out/**\n";
  y += "  deny:\n    - \"**/.env\"\n    - \"**/*.pem\"\n    - \"**/id_rsa*\"\n";
  for (int i = 0; i < 17; ++i) y += "    - /bench/work/proj" + std::to_string(i) + "/out/secret/**\n";
  y += "  deny_write:\n";
  for (int i = 0; i < 20; ++i) y += "    - /bench/work/proj" + std::to_string(i) + "/out/**/.git/hooks/**\n";
  y += "exec:\n  allow:\n";
  for (int i = 0; i < 30; ++i) y += "    - /bench/opt/tool" + std::to_string(i) + "/bin/*\n";
  y += "network:\n  connect:\n";
  for (int i = 0; i < 20; ++i) y += "    - 10." + std::to_string(i) + ".0.0/16:" + std::to_string(8000 + i) + "\n";
  return y;  // 50+20+40+3+17+20+30+20 = 200 rules
}

}  // namespace

int main(int argc, char** argv) {
  long queries = argc > 1 ? std::atol(argv[1]) : 1000000;
  char tmpl[] = "/tmp/guardian-engine-bench-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) return 1;
  ::close(fd);
  std::ofstream(tmpl) << make_profile();
  LoadContext ctx = context_from_environment();
  LoadResult r = load_profile(tmpl, ctx);
  ::unlink(tmpl);
  if (!r.profile) {
    for (auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return 1;
  }
  Engine engine(*r.profile);

  // Query mix: paths kept alive in `pool`, requests point into it.
  std::mt19937 rng(42);
  std::vector<std::string> pool;
  std::vector<Request> reqs;
  const int kDistinct = 4096;
  pool.reserve(kDistinct);
  for (int i = 0; i < kDistinct; ++i) {
    int k = static_cast<int>(rng() % 10), n = static_cast<int>(rng() % 60);
    std::string p;
    Request q;
    switch (k) {
      case 0: case 1: p = "/bench/srv/app" + std::to_string(n) + "/lib/python/site/mod" + std::to_string(i) + ".py"; q.op = Op::read; break;
      case 2: p = "/bench/share/d" + std::to_string(n % 25) + "/readme" + std::to_string(i) + ".md"; q.op = Op::read; break;
      case 3: p = "/bench/work/proj" + std::to_string(n) + "/out/build/obj/f" + std::to_string(i) + ".o"; q.op = Op::write; break;
      case 4: p = "/bench/work/proj" + std::to_string(n) + "/out/secret/key" + std::to_string(i); q.op = Op::read; break;
      case 5: p = "/bench/work/proj" + std::to_string(n) + "/out/.env"; q.op = Op::read; break;
      case 6: p = "/bench/opt/tool" + std::to_string(n) + "/bin/run"; q.op = Op::exec; q.category = Category::exec; break;
      case 7: p = "/bench/srv/app" + std::to_string(n); q.op = Op::stat; break;
      case 8: p = "/home/user/.cache/x/y/z" + std::to_string(i); q.op = Op::read; break;
      default: break;
    }
    if (k == 9) {
      q.category = Category::network;
      q.op = Op::connect;
      q.addr.kind = NetAddr::Kind::ip;
      q.addr.v4 = true;
      q.addr.ip[12] = 10;
      q.addr.ip[13] = static_cast<std::uint8_t>(n % 25);
      q.addr.port = static_cast<std::uint16_t>(8000 + n % 25);
    }
    pool.push_back(std::move(p));
    reqs.push_back(q);
  }
  for (int i = 0; i < kDistinct; ++i) reqs[static_cast<std::size_t>(i)].path = pool[static_cast<std::size_t>(i)];

  // Time batches of 64 decisions; the median batch average is the figure (robust to
  // preemption on a shared machine).
  const int kBatch = 64;
  long batches = std::max(1L, queries / kBatch);
  std::vector<double> per;
  per.reserve(static_cast<std::size_t>(batches));
  std::size_t allow = 0, idx = 0;
  auto start_all = std::chrono::steady_clock::now();
  for (long b = 0; b < batches; ++b) {
    auto t0 = std::chrono::steady_clock::now();
    for (int j = 0; j < kBatch; ++j) {
      allow += engine.decide(reqs[idx]).verdict == Verdict::allow;
      idx = (idx + 1) & (kDistinct - 1);
    }
    auto t1 = std::chrono::steady_clock::now();
    per.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / kBatch);
  }
  double total = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start_all).count();
  std::sort(per.begin(), per.end());
  std::printf("engine_bench: rules=200 queries=%ld allowed=%zu\n", batches * kBatch, allow);
  std::printf("median %.1f ns/decision, p90 %.1f ns, mean %.1f ns (target < 300 ns)\n", per[per.size() / 2],
              per[per.size() * 9 / 10], total / static_cast<double>(batches * kBatch));
  return 0;
}
