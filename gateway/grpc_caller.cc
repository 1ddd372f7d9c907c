// Generic gRPC calls with serialized bytes (see grpc_caller.h).
#include "gateway/grpc_caller.h"

#include <chrono>
#include <memory>
#include <vector>

#include "grpcpp/support/byte_buffer.h"

namespace dorset::gateway {
namespace {

void Prepare(grpc::ClientContext& context, const CallMetadata& metadata) {
  if (!metadata.authorization.empty()) {
    context.AddMetadata("authorization", metadata.authorization);
  }
  if (!metadata.request_id.empty()) context.AddMetadata("x-request-id", metadata.request_id);
  if (metadata.timeout) {
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(*metadata.timeout));
  }
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

// A completion queue per thread for unary calls, shut down and drained when the thread ends.
class ThreadCompletionQueue {
 public:
  ~ThreadCompletionQueue() {
    queue_.Shutdown();
    void* tag;
    bool ok;
    while (queue_.Next(&tag, &ok)) {
    }
  }
  grpc::CompletionQueue& get() { return queue_; }

 private:
  grpc::CompletionQueue queue_;
};

grpc::CompletionQueue& ThreadQueue() {
  thread_local ThreadCompletionQueue queue;
  return queue.get();
}

}  // namespace

UnaryResult CallUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& request, const CallMetadata& metadata) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  Prepare(context, metadata);
  const grpc::ByteBuffer request_buffer = ToBuffer(request);
  grpc::ByteBuffer response_buffer;
  UnaryResult result;
  // A completion queue of the call's own, polled by this (the HTTP worker's) thread, as gRPC's
  // blocking API does: the answer is read by the thread that waits for it. The callback API
  // finished on gRPC's executor and woke this thread after, a hop that cost more than the
  // rest of a cached GetPractice (bench/gateway_bench.sh).
  // The queue is the thread's own and outlives the call (one per HTTP worker, made on its first
  // call): a call leaves nothing on it, as its one operation is waited for here.
  grpc::CompletionQueue& queue = ThreadQueue();
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, method, request_buffer, &queue);
  call->StartCall();
  call->Finish(&response_buffer, &result.status, &queue);
  void* tag = nullptr;
  bool ok = false;
  if (!queue.Next(&tag, &ok) || !ok) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL, "the call did not complete");
  }
  if (result.status.ok()) result.response = FromBuffer(response_buffer);
  return result;
}

struct AsyncUnaryCaller::Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  Done done;
};

AsyncUnaryCaller::AsyncUnaryCaller(int threads) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      void* tag = nullptr;
      bool ok = false;
      while (queue_.Next(&tag, &ok)) {
        std::unique_ptr<Call> call(static_cast<Call*>(tag));
        UnaryResult result;
        result.status = ok ? std::move(call->status)
                           : grpc::Status(grpc::StatusCode::INTERNAL, "the call did not complete");
        if (result.status.ok()) result.response = FromBuffer(call->response);
        call->done(std::move(result));
      }
    });
  }
}

AsyncUnaryCaller::~AsyncUnaryCaller() { Shutdown(); }

bool AsyncUnaryCaller::Start(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& method, const std::string& request,
                             const CallMetadata& metadata, Done done) {
  auto call = std::make_unique<Call>();
  Prepare(call->context, metadata);
  call->done = std::move(done);
  absl::MutexLock lock(&mu_);  // a call is never started on a queue being shut down
  if (shut_down_) return false;
  grpc::GenericStub stub(channel);
  call->reader = stub.PrepareUnaryCall(&call->context, method, ToBuffer(request), &queue_);
  call->reader->StartCall();
  Call* raw = call.release();
  raw->reader->Finish(&raw->response, &raw->status, raw);
  return true;
}

void AsyncUnaryCaller::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    queue_.Shutdown();
  }
  for (std::thread& thread : threads_) thread.join();
}

ServerStream::ServerStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                           const std::vector<std::string>& requests, const CallMetadata& metadata)
    : stub_(channel) {
  Prepare(context_, metadata);
  call_ = stub_.PrepareCall(&context_, method, &queue_);
  call_->StartCall(this);
  started_ = Wait();
  if (!started_) return;
  // A failed write means the call already ended; Next() then reads nothing and finishes.
  for (const std::string& request : requests) {
    call_->Write(ToBuffer(request), this);
    if (!Wait()) return;
  }
  call_->WritesDone(this);
  (void)Wait();
}

ServerStream::~ServerStream() {
  if (!finished_) {
    context_.TryCancel();
    while (Next()) {
    }
  }
  queue_.Shutdown();
  void* tag;
  bool ok;
  while (queue_.Next(&tag, &ok)) {
  }
}

bool ServerStream::Wait() {
  void* tag;
  bool ok = false;
  if (!queue_.Next(&tag, &ok)) return false;
  return ok;
}

void ServerStream::Finish() {
  if (finished_) return;
  finished_ = true;
  call_->Finish(&status_, this);
  (void)Wait();
}

std::optional<std::string> ServerStream::Next() {
  if (finished_) return std::nullopt;
  if (started_) {
    grpc::ByteBuffer buffer;
    call_->Read(&buffer, this);
    if (Wait()) return FromBuffer(buffer);
  }
  Finish();
  return std::nullopt;
}

}  // namespace dorset::gateway
