// dorset-loadgen: a closed-loop gRPC load generator for any method of any linked proto.
//
//   dorset-loadgen --target=127.0.0.1:50051 --method=/dorset.bench.v1.EchoService/Echo
//       --request_json='{"message":"hi"}' --concurrency=64 --channels=4 --duration_s=10 --json
//
// `concurrency` calls are kept in flight on the callback API, spread over `channels`
// separate connections. In the request JSON, {{seq}} becomes a number unique to each call
// (for request_id idempotency keys; --seq_start sets the first) and {{slot}} the in-flight slot.
// Reports QPS, latency percentiles and errors by code, as text or one JSON object.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "runtime/status/grpc_status.h"

namespace {

struct Options {
  std::string target = "127.0.0.1:50059";
  std::string method = "/dorset.bench.v1.EchoService/Echo";
  std::string request_json = "{}";
  std::string token;
  int concurrency = 64;
  int channels = 4;
  double duration_s = 10;
  double warmup_s = 1;
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
    else if (name == "--token")
      o.token = value;
    else if (name == "--concurrency")
      ok = absl::SimpleAtoi(value, &o.concurrency) && o.concurrency > 0;
    else if (name == "--channels")
      ok = absl::SimpleAtoi(value, &o.channels) && o.channels > 0;
    else if (name == "--duration_s")
      ok = absl::SimpleAtod(value, &o.duration_s) && o.duration_s > 0;
    else if (name == "--warmup_s")
      ok = absl::SimpleAtod(value, &o.warmup_s) && o.warmup_s >= 0;
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

// Builds serialized requests from the JSON template.
class RequestMaker {
 public:
  static absl::StatusOr<RequestMaker> Create(const Options& o) {
    std::string full = o.method.substr(1);
    std::replace(full.begin(), full.end(), '/', '.');
    const auto* method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
    if (method == nullptr) return absl::NotFoundError(absl::StrCat("unknown method ", o.method));
    RequestMaker maker;
    maker.prototype_ = maker.factory_->GetPrototype(method->input_type());
    maker.template_ = o.request_json;
    maker.templated_ = o.request_json.find("{{") != std::string::npos;
    if (!maker.templated_) {
      auto fixed = maker.Serialize(o.request_json);
      if (!fixed.ok()) return fixed.status();
      maker.fixed_ = *fixed;
    } else if (auto probe = maker.Make(0, 0); !probe.ok()) {
      return probe.status();
    }
    return maker;
  }

  absl::StatusOr<std::string> Make(uint64_t seq, int slot) const {
    if (!templated_) return fixed_;
    return Serialize(absl::StrReplaceAll(
        template_, {{"{{seq}}", absl::StrCat(seq)}, {"{{slot}}", absl::StrCat(slot)}}));
  }

 private:
  absl::StatusOr<std::string> Serialize(const std::string& json) const {
    std::unique_ptr<google::protobuf::Message> message(prototype_->New());
    auto status = google::protobuf::util::JsonStringToMessage(json, message.get());
    if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
    return message->SerializeAsString();
  }

  std::shared_ptr<google::protobuf::DynamicMessageFactory> factory_ =
      std::make_shared<google::protobuf::DynamicMessageFactory>();
  const google::protobuf::Message* prototype_ = nullptr;
  std::string template_;
  std::string fixed_;
  bool templated_ = false;
};

class Run {
 public:
  Run(const Options& o, RequestMaker maker) : o_(o), maker_(std::move(maker)) {
    for (int i = 0; i < o.channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("dorset.loadgen.channel", i);  // distinct args: a connection per channel
      args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
      stubs_.push_back(std::make_unique<grpc::GenericStub>(
          grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args)));
    }
    latencies_.resize(o.concurrency);
    seq_ = o.seq_start;
  }

  void Go() {
    measure_from_ = absl::Now() + absl::Seconds(o_.warmup_s);
    stop_at_ = measure_from_ + absl::Seconds(o_.duration_s);
    active_ = o_.concurrency;
    for (int slot = 0; slot < o_.concurrency; ++slot) Issue(slot);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return active_ == 0; });
  }

  void Report() {
    std::vector<int64_t> all;
    for (auto& v : latencies_) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) -> double {
      if (all.empty()) return 0;
      size_t idx = static_cast<size_t>(p * static_cast<double>(all.size() - 1) + 0.5);
      return static_cast<double>(all[idx]) / 1e6;
    };
    const double qps = static_cast<double>(ok_calls_) / o_.duration_s;
    std::string codes;
    for (const auto& [code, n] : errors_) {
      absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", code, "\":", n);
    }
    if (o_.json) {
      std::printf(
          "{\"method\":\"%s\",\"target\":\"%s\",\"concurrency\":%d,\"channels\":%d,"
          "\"duration_s\":%.1f,\"calls\":%llu,\"errors\":%llu,\"qps\":%.1f,\"p50_ms\":%.3f,"
          "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"error_codes\":{%s}}\n",
          o_.method.c_str(), o_.target.c_str(), o_.concurrency, o_.channels, o_.duration_s,
          static_cast<unsigned long long>(ok_calls_), static_cast<unsigned long long>(error_calls_),
          qps, pct(0.5), pct(0.9), pct(0.99), pct(0.999), codes.c_str());
    } else {
      std::printf("%s  concurrency=%d channels=%d duration=%.1fs\n", o_.method.c_str(),
                  o_.concurrency, o_.channels, o_.duration_s);
      std::printf("  calls ok=%llu errors=%llu  qps=%.1f\n",
                  static_cast<unsigned long long>(ok_calls_),
                  static_cast<unsigned long long>(error_calls_), qps);
      std::printf("  latency ms p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f\n", pct(0.5), pct(0.9),
                  pct(0.99), pct(0.999));
      if (!codes.empty()) std::printf("  errors by code: {%s}\n", codes.c_str());
      if (!first_error_.empty()) std::printf("  first error: %s\n", first_error_.c_str());
    }
  }

  bool any_ok() const { return ok_calls_ > 0; }

 private:
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    absl::Time start;
  };

  void Issue(int slot) {
    if (absl::Now() >= stop_at_) {
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) done_cv_.notify_all();
      return;
    }
    auto call = std::make_shared<Call>();
    if (!o_.token.empty()) call->context.AddMetadata("authorization", "Bearer " + o_.token);
    auto payload = maker_.Make(seq_.fetch_add(1), slot);
    grpc::Slice slice(*payload);
    call->request = grpc::ByteBuffer(&slice, 1);
    call->start = absl::Now();
    stubs_[slot % stubs_.size()]->UnaryCall(
        &call->context, o_.method, grpc::StubOptions(), &call->request, &call->response,
        [this, slot, call](grpc::Status status) {
          const absl::Time end = absl::Now();
          if (call->start >= measure_from_ && end <= stop_at_) {
            if (status.ok()) {
              latencies_[slot].push_back(absl::ToInt64Nanoseconds(end - call->start));
              ok_calls_.fetch_add(1);
            } else {
              error_calls_.fetch_add(1);
              std::lock_guard<std::mutex> lock(mu_);
              errors_[absl::StatusCodeToString(
                  static_cast<absl::StatusCode>(status.error_code()))]++;
              if (first_error_.empty()) first_error_ = status.error_message();
            }
          }
          Issue(slot);
        });
  }

  const Options o_;
  RequestMaker maker_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::vector<std::vector<int64_t>> latencies_;  // one per slot: each slot is sequential
  std::atomic<uint64_t> seq_{1};
  std::atomic<uint64_t> ok_calls_{0};
  std::atomic<uint64_t> error_calls_{0};
  absl::Time measure_from_;
  absl::Time stop_at_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  int active_ = 0;
  std::map<std::string, uint64_t> errors_;
  std::string first_error_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseFlags(argc, argv, o)) return 2;
  auto maker = RequestMaker::Create(o);
  if (!maker.ok()) {
    std::cerr << maker.status().message() << "\n";
    return 2;
  }
  Run run(o, *std::move(maker));
  run.Go();
  run.Report();
  return run.any_ok() ? 0 : 1;
}
