// The asynchronous AuditLog: callers enqueue under a short mutex (no I/O, no formatting);
// one writer thread assigns seq, formats, chains and writes each batch of records.
#include "audit/log.hpp"

#include <sys/random.h>
#include <time.h>

#include <array>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "audit/denials.hpp"
#include "audit/record.hpp"
#include "audit/sinks.hpp"

namespace guardian::audit {
namespace {

std::string make_session_id() {
  std::array<unsigned char, 16> b{};
  std::size_t got = 0;
  while (got < b.size()) {
    ssize_t n = getrandom(b.data() + got, b.size() - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < b.size()) {  // no entropy source: time and pid still make it unique enough
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    std::uint64_t x = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
    for (int i = 0; i < 8; ++i) b[i] ^= static_cast<unsigned char>(x >> (8 * i));
    b[8] ^= static_cast<unsigned char>(getpid());
  }
  b[6] = (b[6] & 0x0F) | 0x40;  // UUID version 4
  b[8] = (b[8] & 0x3F) | 0x80;  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

class AsyncLog final : public AuditLog {
 public:
  AsyncLog(Options opts, std::string session, std::unique_ptr<Sink> sink)
      : opts_(std::move(opts)), session_(std::move(session)), sink_(std::move(sink)) {
    if (sink_) thread_ = std::thread([this] { run(); });
  }

  ~AsyncLog() override { stop(); }

  void session_start(const SessionStart& s) override { push(Item{{}, s, std::nullopt}); }

  void decision(const DecisionRecord& d) override {
    std::unique_lock lk(mu_);
    if (closed_) return;
    auto v = static_cast<std::size_t>(d.decision);
    if (v < counts_.size()) ++counts_[v];
    if (d.decision != policy::Verdict::allow) denials_.note(d);
    if (opts_.decisions_deny_only && d.decision == policy::Verdict::allow) return;
    if (!sink_) return;
    Item item{{}, d, std::nullopt};
    auto& copy = std::get<DecisionRecord>(item.body);
    if (d.rule) item.rule = *d.rule;
    copy.rule = nullptr;
    enqueue_locked(lk, std::move(item));
  }

  bool records_allows() const override { return sink_ && !opts_.decisions_deny_only; }

  void count_allow() override {
    std::lock_guard lk(mu_);
    if (!closed_) ++counts_[static_cast<std::size_t>(policy::Verdict::allow)];
  }

  void process(const ProcessRecord& p) override { push(Item{{}, p, std::nullopt}); }
  void limit(const LimitRecord& l) override { push(Item{{}, l, std::nullopt}); }

  void session_end(const SessionEnd& e) override {
    {
      std::unique_lock lk(mu_);
      if (closed_) return;
      if (sink_) {
        Item item{{}, e, std::nullopt};
        end_counts_ = counts_;
        enqueue_locked(lk, std::move(item));
      }
      closed_ = true;
    }
    flush();
    stop();
  }

  void flush() override {
    std::unique_lock lk(mu_);
    if (!sink_ || !thread_.joinable()) return;
    std::uint64_t target = enqueued_;
    ++sync_requests_;
    cv_work_.notify_one();
    cv_done_.wait(lk, [&] { return synced_ >= target || writer_gone_; });
  }

  std::string denial_summary() const override {
    std::lock_guard lk(mu_);
    return denials_.text(opts_.destination.empty()
                             ? "run with --audit FILE to log every decision; "
                               "'guardian profile explain' shows which rule decides a path"
                             : "details in the audit log (" + opts_.destination + ")");
  }

  std::string session_id() const override { return session_; }

  std::string error() const override {
    std::lock_guard lk(mu_);
    return error_;
  }

 private:
  void push(Item item) {
    std::unique_lock lk(mu_);
    if (closed_ || !sink_) return;
    enqueue_locked(lk, std::move(item));
  }

  void enqueue_locked(std::unique_lock<std::mutex>& lk, Item item) {
    // Completeness beats latency for an audit log: when the writer is this far behind
    // (the disk is stalled), producers wait rather than drop records.
    cv_space_.wait(lk, [&] { return queue_.size() < opts_.queue_limit || writer_gone_; });
    if (writer_gone_) return;
    // The time is taken under the lock so ts never goes backwards as seq goes forward.
    clock_gettime(CLOCK_REALTIME, &item.ts);
    queue_.push_back(std::move(item));
    ++enqueued_;
    cv_work_.notify_one();
  }

  void stop() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
      closed_ = true;
    }
    cv_work_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  // The writer thread: the only place that knows seq and the chain.
  void run() {
    std::vector<Item> batch;
    std::string text, v1, tsbuf;
    std::vector<LineMeta> metas;
    std::vector<std::pair<std::size_t, std::size_t>> ts_spans;
    std::uint64_t seq = 0;
    std::string prev(kChainSeed);
    std::unique_lock lk(mu_);
    for (;;) {
      cv_work_.wait(lk, [&] { return !queue_.empty() || stop_ || sync_requests_ > syncs_done_; });
      if (queue_.empty()) {
        if (sync_requests_ > syncs_done_) {
          std::uint64_t req = sync_requests_, upto = written_;
          lk.unlock();
          auto r = sink_->sync();
          lk.lock();
          if (!r) set_error(r.error().message);
          syncs_done_ = req;
          synced_ = upto;
          cv_done_.notify_all();
          continue;
        }
        if (stop_) break;
        continue;
      }
      batch.clear();
      batch.swap(queue_);
      std::array<std::uint64_t, 4> end_counts = end_counts_;
      lk.unlock();
      cv_space_.notify_all();

      text.clear();
      tsbuf.clear();
      metas.clear();
      ts_spans.clear();
      for (const Item& item : batch) {
        RenderContext ctx;
        ctx.session = session_;
        ctx.seq = ++seq;
        if (std::holds_alternative<SessionEnd>(item.body)) {
          ctx.counts = end_counts;
          ctx.prev_hash = prev;
        }
        LineMeta m;
        m.begin = text.size();
        m.seq = ctx.seq;
        m.event = event_name(item);
        if (auto d = std::get_if<DecisionRecord>(&item.body)) {
          m.decision = policy::to_string(d->decision);
          if (d->decision != policy::Verdict::allow) m.priority = 4;
        }
        if (std::holds_alternative<LimitRecord>(item.body)) m.priority = 4;
        std::size_t line_start = text.size();
        if (opts_.format == "ocsf") {
          v1.clear();
          render_v1(item, ctx, v1);
          render_ocsf(item, ctx, v1, text);
        } else {
          render_v1(item, ctx, text);
        }
        std::string_view canon(text.data() + line_start, text.size() - line_start);
        prev = chain_hash(prev, canon);
        append_hash_field(text, prev);
        text += '\n';
        m.end = text.size();
        std::size_t t0 = tsbuf.size();
        append_ts(tsbuf, item.ts);
        ts_spans.emplace_back(t0, tsbuf.size() - t0);
        metas.push_back(m);
      }
      for (std::size_t i = 0; i < metas.size(); ++i)
        metas[i].ts = std::string_view(tsbuf).substr(ts_spans[i].first, ts_spans[i].second);
      auto r = sink_->write(text, metas);
      lk.lock();
      if (!r) set_error(r.error().message);
      written_ += batch.size();
      cv_done_.notify_all();
    }
    writer_gone_ = true;
    cv_done_.notify_all();
    cv_space_.notify_all();
  }

  void set_error(const std::string& msg) {
    if (!error_.empty()) return;
    error_ = msg;
    std::fprintf(stderr, "guardian: %s; audit records from here on may be missing\n", msg.c_str());
  }

  const Options opts_;
  const std::string session_;
  std::unique_ptr<Sink> sink_;

  mutable std::mutex mu_;
  std::condition_variable cv_work_, cv_space_, cv_done_;
  std::vector<Item> queue_;
  std::uint64_t enqueued_ = 0, written_ = 0, synced_ = 0;
  std::uint64_t sync_requests_ = 0, syncs_done_ = 0;
  bool stop_ = false, closed_ = false, writer_gone_ = false;
  std::array<std::uint64_t, 4> counts_{}, end_counts_{};
  DenialTally denials_;
  std::string error_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<AuditLog>> open_log(const Options& opts) {
  if (opts.format != "jsonl" && opts.format != "ocsf")
    return fail("unknown audit format '" + opts.format + "' (expected jsonl or ocsf)");
  std::string session = make_session_id();
  std::unique_ptr<Sink> sink;
  if (!opts.destination.empty()) {
    auto s = open_sink(opts.destination, opts.rotate_bytes, opts.socket_path, session);
    if (!s) return s.error();
    sink = std::move(s).value();
  }
  return std::unique_ptr<AuditLog>(new AsyncLog(opts, std::move(session), std::move(sink)));
}

}  // namespace guardian::audit
