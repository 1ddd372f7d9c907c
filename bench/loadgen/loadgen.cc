// dorset-loadgen: a closed-loop gRPC load generator for any method of any linked proto.
//
//   dorset-loadgen --target=127.0.0.1:50051 --method=/dorset.bench.v1.EchoService/Echo
//       --request_json='{"message":"hi"}' --concurrency=64 --channels=4 --duration_s=10 --json
//
// `concurrency` calls are kept in flight on the callback API, spread over `channels`
// separate connections (per target). In the request JSON, {{seq}} becomes a number unique to
// each call (for request_id idempotency keys; --seq_start sets the first), {{uuid}} a UUID-shaped
// key made from that number (scattered in key order, as real clients' ids are) and {{slot}} the
// in-flight slot. Reports QPS, latency percentiles and errors by code, as text or one JSON object.
//
// --calls=N stops after N measured calls instead of at the end of --duration_s (bench/costs.sh
// counts instructions per call over exactly N calls).
//
// --mix=FILE runs a weighted mix of methods, on one or several targets, in the same closed loop:
// each line of FILE is `name<TAB>weight<TAB>target<TAB>method<TAB>request_json` ('#' starts a
// comment line). Each call picks its line at random by weight (a fixed seed per slot, so runs
// repeat), and the report gives every line's calls, QPS and percentiles next to the whole run's.
//
// --http_path=/v1/practices/J81002 switches to HTTP (bench/loadgen/http_load.h): GET that path on
// --target over keep-alive connections, one per in-flight slot (--token, --accept as headers).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/loadgen/http_load.h"
#include "bench/loadgen/request_maker.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "runtime/status/grpc_status.h"

namespace {

struct Options {
  std::string target = "127.0.0.1:50059";
  std::string method = "/dorset.bench.v1.EchoService/Echo";
  std::string request_json = "{}";
  std::string mix_file;
  std::string token;
  std::string http_path;  // HTTP mode when set
  std::string accept;     // HTTP mode: an Accept header
  int concurrency = 64;
  int channels = 4;
  double duration_s = 10;
  double warmup_s = 1;
  uint64_t calls = 0;  // 0: run for duration_s
  bool json = false;
  // First {{seq}} value; by default the current time in microseconds, so repeated runs
  // against the same store never reuse an idempotency key.
  uint64_t seq_start = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
};

bool ParseFlags(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "true" : arg.substr(eq + 1);
    bool ok = true;
    if (name == "--target")
      o.target = value;
    else if (name == "--method")
      o.method = value;
    else if (name == "--request_json")
      o.request_json = value;
    else if (name == "--mix")
      o.mix_file = value;
    else if (name == "--token")
      o.token = value;
    else if (name == "--http_path")
      o.http_path = value;
    else if (name == "--accept")
      o.accept = value;
    else if (name == "--concurrency")
      ok = absl::SimpleAtoi(value, &o.concurrency) && o.concurrency > 0;
    else if (name == "--channels")
      ok = absl::SimpleAtoi(value, &o.channels) && o.channels > 0;
    else if (name == "--duration_s")
      ok = absl::SimpleAtod(value, &o.duration_s) && o.duration_s > 0;
    else if (name == "--warmup_s")
      ok = absl::SimpleAtod(value, &o.warmup_s) && o.warmup_s >= 0;
    else if (name == "--calls")
      ok = absl::SimpleAtoi(value, &o.calls) && o.calls > 0;
    else if (name == "--json")
      o.json = value == "true";
    else if (name == "--seq_start")
      ok = absl::SimpleAtoi(value, &o.seq_start);
    else
      ok = false;
    if (!ok) {
      std::cerr << "bad flag: " << arg << "\n";
      return false;
    }
  }
  return true;
}

// One method of the run: the whole run without --mix, one line of the mix file with it.
struct Entry {
  std::string name;
  double weight = 1;
  std::string target;
  std::string method;
  dorset::bench::RequestMaker maker;
};

absl::StatusOr<Entry> MakeEntry(std::string name, double weight, std::string target,
                                std::string method, const std::string& request_json) {
  absl::StatusOr<dorset::bench::RequestMaker> maker =
      dorset::bench::RequestMaker::Create(method, request_json);
  if (!maker.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", maker.status().message()));
  }
  return Entry{std::move(name), weight, std::move(target), std::move(method), *std::move(maker)};
}

absl::StatusOr<std::vector<Entry>> ReadMix(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read --mix file ", path));
  std::vector<Entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (absl::StripAsciiWhitespace(line).empty() || absl::StartsWith(line, "#")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '\t');
    double weight = 0;
    if (cells.size() != 5 || !absl::SimpleAtod(cells[1], &weight) || weight <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": expected name<TAB>weight (> 0)<TAB>target<TAB>method<TAB>json"));
    }
    absl::StatusOr<Entry> entry = MakeEntry(cells[0], weight, cells[2], cells[3], cells[4]);
    if (!entry.ok()) return entry.status();
    entries.push_back(*std::move(entry));
  }
  if (entries.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no methods"));
  return entries;
}

// What one entry saw: latencies per slot (each slot is sequential, so no lock), the rest shared.
struct Tally {
  explicit Tally(int slots) : latencies(slots) {}
  std::vector<std::vector<int64_t>> latencies;
  std::atomic<uint64_t> ok_calls{0};
  std::atomic<uint64_t> error_calls{0};
  std::mutex mu;
  std::map<std::string, uint64_t> errors;  // guarded by mu
  std::string first_error;                 // guarded by mu
};

struct Summary {
  uint64_t calls = 0;
  uint64_t errors = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0;
};

Summary Summarise(const std::vector<const Tally*>& tallies) {
  std::vector<int64_t> all;
  Summary s;
  for (const Tally* t : tallies) {
    for (const auto& v : t->latencies) all.insert(all.end(), v.begin(), v.end());
    s.calls += t->ok_calls.load();
    s.errors += t->error_calls.load();
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) -> double {
    if (all.empty()) return 0;
    size_t idx = static_cast<size_t>(p * static_cast<double>(all.size() - 1) + 0.5);
    return static_cast<double>(all[idx]) / 1e6;
  };
  s.p50 = pct(0.5);
  s.p90 = pct(0.9);
  s.p99 = pct(0.99);
  s.p999 = pct(0.999);
  return s;
}

std::string ErrorCodes(Tally& t) {
  std::lock_guard<std::mutex> lock(t.mu);
  std::string codes;
  for (const auto& [code, n] : t.errors) {
    absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", code, "\":", n);
  }
  return codes;
}

class Run {
 public:
  Run(const Options& o, std::vector<Entry> entries) : o_(o), entries_(std::move(entries)) {
    double total = 0;
    for (const Entry& e : entries_) {
      total += e.weight;
      cumulative_.push_back(total);
      if (!stubs_.contains(e.target)) {
        auto& stubs = stubs_[e.target];
        for (int i = 0; i < o.channels; ++i) {
          grpc::ChannelArguments args;
          args.SetInt("dorset.loadgen.channel", i);  // distinct args: a connection per channel
          args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
          stubs.push_back(std::make_unique<grpc::GenericStub>(
              grpc::CreateCustomChannel(e.target, grpc::InsecureChannelCredentials(), args)));
        }
      }
      tallies_.push_back(std::make_unique<Tally>(o.concurrency));
    }
    for (int slot = 0; slot < o.concurrency; ++slot) {
      rngs_.emplace_back(static_cast<std::mt19937_64::result_type>(slot + 1));
    }
    seq_ = o.seq_start;
  }

  void Go() {
    started_ = absl::Now();
    measure_from_ = started_ + absl::Seconds(o_.warmup_s);
    stop_at_ = o_.calls > 0 ? absl::InfiniteFuture() : measure_from_ + absl::Seconds(o_.duration_s);
    active_ = o_.concurrency;
    for (int slot = 0; slot < o_.concurrency; ++slot) {
      if (!Issue(slot)) Finish();
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return active_ == 0; });
    // With --calls the measured window ends with the last call; otherwise at duration_s.
    window_s_ = o_.calls > 0 ? absl::ToDoubleSeconds(last_end_ - measure_from_) : o_.duration_s;
  }

  void Report() {
    std::vector<const Tally*> all;
    for (const auto& t : tallies_) all.push_back(t.get());
    const Summary whole = Summarise(all);
    const double qps = window_s_ > 0 ? static_cast<double>(whole.calls) / window_s_ : 0;
    const bool mix = !o_.mix_file.empty();
    if (o_.json) {
      std::string codes;
      for (const auto& t : tallies_) {
        std::string c = ErrorCodes(*t);
        if (!c.empty()) absl::StrAppend(&codes, codes.empty() ? "" : ",", c);
      }
      const std::string method = mix ? "mix:" + o_.mix_file : entries_[0].method;
      const std::string target = mix ? "mix" : entries_[0].target;
      std::printf(
          "{\"method\":\"%s\",\"target\":\"%s\",\"concurrency\":%d,\"channels\":%d,"
          "\"duration_s\":%.3f,\"calls\":%llu,\"errors\":%llu,\"qps\":%.1f,\"p50_ms\":%.3f,"
          "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"error_codes\":{%s}",
          method.c_str(), target.c_str(), o_.concurrency, o_.channels, window_s_,
          static_cast<unsigned long long>(whole.calls),
          static_cast<unsigned long long>(whole.errors), qps, whole.p50, whole.p90, whole.p99,
          whole.p999, codes.c_str());
      if (mix) {
        std::printf(",\"methods\":[");
        for (size_t i = 0; i < entries_.size(); ++i) {
          const Summary s = Summarise({tallies_[i].get()});
          std::printf(
              "%s{\"name\":\"%s\",\"method\":\"%s\",\"target\":\"%s\",\"weight\":%g,"
              "\"calls\":%llu,\"errors\":%llu,\"qps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
              "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"error_codes\":{%s}}",
              i == 0 ? "" : ",", entries_[i].name.c_str(), entries_[i].method.c_str(),
              entries_[i].target.c_str(), entries_[i].weight,
              static_cast<unsigned long long>(s.calls), static_cast<unsigned long long>(s.errors),
              window_s_ > 0 ? static_cast<double>(s.calls) / window_s_ : 0, s.p50, s.p90, s.p99,
              s.p999, ErrorCodes(*tallies_[i]).c_str());
        }
        std::printf("]");
      }
      std::printf("}\n");
      return;
    }
    std::printf("%s  concurrency=%d channels=%d duration=%.1fs\n",
                mix ? ("mix " + o_.mix_file).c_str() : entries_[0].method.c_str(), o_.concurrency,
                o_.channels, window_s_);
    std::printf("  calls ok=%llu errors=%llu  qps=%.1f\n",
                static_cast<unsigned long long>(whole.calls),
                static_cast<unsigned long long>(whole.errors), qps);
    std::printf("  latency ms p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f\n", whole.p50, whole.p90,
                whole.p99, whole.p999);
    for (size_t i = 0; i < entries_.size(); ++i) {
      Tally& t = *tallies_[i];
      if (mix) {
        const Summary s = Summarise({&t});
        std::printf("  %-24s ok=%llu errors=%llu p50=%.3f p99=%.3f\n", entries_[i].name.c_str(),
                    static_cast<unsigned long long>(s.calls),
                    static_cast<unsigned long long>(s.errors), s.p50, s.p99);
      }
      const std::string codes = ErrorCodes(t);
      if (!codes.empty()) std::printf("  errors by code: {%s}\n", codes.c_str());
      std::lock_guard<std::mutex> lock(t.mu);
      if (!t.first_error.empty()) std::printf("  first error: %s\n", t.first_error.c_str());
    }
  }

  bool any_ok() const {
    for (const auto& t : tallies_) {
      if (t->ok_calls.load() > 0) return true;
    }
    return false;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    absl::Time start;
    bool counted = false;  // one of the --calls
  };

  size_t Pick(int slot) {
    if (entries_.size() == 1) return 0;
    std::uniform_real_distribution<double> draw(0, cumulative_.back());
    const double x = draw(rngs_[slot]);
    return std::min<size_t>(
        std::upper_bound(cumulative_.begin(), cumulative_.end(), x) - cumulative_.begin(),
        entries_.size() - 1);
  }

  void Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) done_cv_.notify_all();
  }

  // Starts the slot's next call; false when the run is over for this slot.
  bool Issue(int slot) {
    const absl::Time now = absl::Now();
    bool counted = false;
    if (now >= stop_at_) return false;
    if (o_.calls > 0 && now >= measure_from_) {
      if (issued_.fetch_add(1) >= o_.calls) return false;
      counted = true;
    }
    const size_t which = Pick(slot);
    const Entry& entry = entries_[which];
    auto call = std::make_shared<Call>();
    call->counted = counted;
    if (!o_.token.empty()) call->context.AddMetadata("authorization", "Bearer " + o_.token);
    const std::string payload = entry.maker.Make(seq_.fetch_add(1), slot);
    grpc::Slice slice(payload);
    call->request = grpc::ByteBuffer(&slice, 1);
    call->start = absl::Now();
    const auto& stubs = stubs_.at(entry.target);
    stubs[slot % stubs.size()]->UnaryCall(
        &call->context, entry.method, grpc::StubOptions(), &call->request, &call->response,
        [this, slot, which, call](grpc::Status status) mutable {
          const absl::Time end = absl::Now();
          const bool measured =
              o_.calls > 0 ? call->counted : call->start >= measure_from_ && end <= stop_at_;
          if (measured) {
            Tally& t = *tallies_[which];
            if (status.ok()) {
              t.latencies[slot].push_back(absl::ToInt64Nanoseconds(end - call->start));
              t.ok_calls.fetch_add(1);
            } else {
              t.error_calls.fetch_add(1);
              std::lock_guard<std::mutex> lock(t.mu);
              t.errors[absl::StatusCodeToString(
                  static_cast<absl::StatusCode>(status.error_code()))]++;
              if (t.first_error.empty()) t.first_error = status.error_message();
            }
            if (o_.calls > 0) {
              std::lock_guard<std::mutex> lock(mu_);
              last_end_ = std::max(last_end_, end);
            }
          }
          // The finished call (its context and buffers) goes before the slot can end the run:
          // once the last slot finishes, main returns and tears gRPC down, and a context
          // released after that aborted the load generator at exit (gRPC's `ref_counted.h:
          // prior > 0`, seen in the search and gateway benches).
          call.reset();
          if (!Issue(slot)) Finish();
        });
    return true;
  }

  const Options o_;
  const std::vector<Entry> entries_;
  std::vector<double> cumulative_;  // running sum of the weights, for Pick
  std::map<std::string, std::vector<std::unique_ptr<grpc::GenericStub>>> stubs_;  // by target
  std::vector<std::unique_ptr<Tally>> tallies_;                                   // one per entry
  std::vector<std::mt19937_64> rngs_;  // one per slot: each slot is sequential
  std::atomic<uint64_t> seq_{1};
  std::atomic<uint64_t> issued_{0};
  absl::Time started_;
  absl::Time measure_from_;
  absl::Time stop_at_;
  double window_s_ = 0;
  std::mutex mu_;
  std::condition_variable done_cv_;
  int active_ = 0;
  absl::Time last_end_ = absl::InfinitePast();  // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
#ifdef NDEBUG
  // As the servers do (runtime/server/service_host.cc): Debian's Abseil leaves absl::Mutex's
  // deadlock detection on, a lock-order graph updated on every Lock, gRPC's own included. The
  // load generator shares the machine with the server it measures, so what it wastes is taken
  // from the server under test.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  Options o;
  if (!ParseFlags(argc, argv, o)) return 2;
  if (!o.http_path.empty()) {
    return dorset::bench::RunHttpLoad({o.target, o.http_path, o.token, o.accept, o.concurrency,
                                       o.duration_s, o.warmup_s, o.json});
  }
  absl::StatusOr<std::vector<Entry>> entries;
  if (o.mix_file.empty()) {
    absl::StatusOr<Entry> single = MakeEntry(o.method, 1, o.target, o.method, o.request_json);
    if (single.ok()) {
      entries = std::vector<Entry>();
      entries->push_back(*std::move(single));
    } else {
      entries = single.status();
    }
  } else {
    entries = ReadMix(o.mix_file);
  }
  if (!entries.ok()) {
    std::cerr << entries.status().message() << "\n";
    return 2;
  }
  Run run(o, *std::move(entries));
  run.Go();
  run.Report();
  return run.any_ok() ? 0 : 1;
}
