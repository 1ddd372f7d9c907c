// The one helper every unary gRPC handler uses (callback API): admit the caller through the
// CallGate, optionally cap the request's repeated fields, run the service logic (which speaks
// absl::Status / absl::StatusOr), fill the reply, and finish the reactor with the status mapped
// at the edge (ToGrpcStatus). Handlers stay one line:
//
//   grpc::ServerUnaryReactor* GetPractice(grpc::CallbackServerContext* ctx,
//                                         const GetPracticeRequest* req, Practice* resp) override {
//     return Unary(gate_, ctx, *req, resp, std::bind_front(&Practices::Get, &practices_));
//   }
//
// The logic may take any of these parameter lists (the first that fits is used), and return
// absl::Status (it wrote the reply itself) or absl::StatusOr<T> (T is assigned to the reply):
//   (const Caller&, const Request&, Reply*)   (const Request&, Reply*)
//   (const Caller&, const Request&)           (const Request&)
//   (const Caller&)                           ()
// The call is observed here (request id, metrics, access log, audit: unary_call.h): the host
// wraps every method of its services for it (ObserveMethods).
// Pass callables with explicit parameter types (a lambda, std::bind_front of a member): a
// generic `auto` lambda fits every list and would be tried with the first.
#ifndef DORSET_RUNTIME_SERVER_UNARY_H_
#define DORSET_RUNTIME_SERVER_UNARY_H_

#include <functional>
#include <span>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "runtime/api/repeated_limits.h"
#include "runtime/auth/caller.h"
#include "runtime/server/call_gate.h"
#include "runtime/server/unary_call.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {
namespace unary_internal {

template <typename Reply>
absl::Status Fill(absl::Status status, Reply*) {
  return status;
}
template <typename T, typename Reply>
absl::Status Fill(absl::StatusOr<T> result, Reply* reply) {
  if (!result.ok()) return std::move(result).status();
  *reply = *std::move(result);
  return absl::OkStatus();
}

// Runs the logic with the first parameter list it accepts (see the file comment).
template <typename Request, typename Reply, typename Fn>
absl::Status Run(const Caller& caller, const Request& request, Reply* reply, Fn& fn) {
  if constexpr (std::is_invocable_v<Fn&, const Caller&, const Request&, Reply*>) {
    return Fill(std::invoke(fn, caller, request, reply), reply);
  } else if constexpr (std::is_invocable_v<Fn&, const Request&, Reply*>) {
    return Fill(std::invoke(fn, request, reply), reply);
  } else if constexpr (std::is_invocable_v<Fn&, const Caller&, const Request&>) {
    return Fill(std::invoke(fn, caller, request), reply);
  } else if constexpr (std::is_invocable_v<Fn&, const Request&>) {
    return Fill(std::invoke(fn, request), reply);
  } else if constexpr (std::is_invocable_v<Fn&, const Caller&>) {
    return Fill(std::invoke(fn, caller), reply);
  } else {
    static_assert(std::is_invocable_v<Fn&>,
                  "the logic must take (Caller, Request, Reply*), (Request, Reply*), "
                  "(Caller, Request), (Request), (Caller) or ()");
    return Fill(std::invoke(fn), reply);
  }
}

template <typename Request, typename Reply, typename Fn>
grpc::ServerUnaryReactor* Serve(CallGate& gate, grpc::CallbackServerContext* context,
                                const std::span<const RepeatedLimit>* limits,
                                const Request& request, Reply* reply, Fn& fn) {
  // Observed here (unary_call.h): the host wraps every method of its services for it.
  const UnaryHandle call(context, &request, reply);
  absl::StatusOr<Caller> caller = call.Admit(gate);
  absl::Status status;
  if (!caller.ok()) {
    status = std::move(caller).status();
  } else if (limits != nullptr && !(status = CheckRepeatedLimits(request, *limits)).ok()) {
    // Refused by item count before any per-item work (repeated_limits.h).
  } else {
    status = Run(*caller, request, reply, fn);
  }
  return call.Finish(ToGrpcStatus(status));
}

}  // namespace unary_internal

// Admits the caller, runs `fn` and finishes the call (see the file comment).
template <typename Request, typename Reply, typename Fn>
grpc::ServerUnaryReactor* Unary(CallGate& gate, grpc::CallbackServerContext* context,
                                const Request& request, Reply* reply, Fn&& fn) {
  return unary_internal::Serve(gate, context, nullptr, request, reply, fn);
}

// The same for a request with repeated fields: refused unread (INVALID_ARGUMENT naming the
// field) when one holds more items than `limits` (or the defaults) allow.
template <typename Request, typename Reply, typename Fn>
grpc::ServerUnaryReactor* Unary(CallGate& gate, grpc::CallbackServerContext* context,
                                std::span<const RepeatedLimit> limits, const Request& request,
                                Reply* reply, Fn&& fn) {
  return unary_internal::Serve(gate, context, &limits, request, reply, fn);
}

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_UNARY_H_
