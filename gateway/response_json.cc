#include "gateway/response_json.h"

#include <cstring>
#include <memory>
#include <utility>

#include "gateway/transcoder.h"
#include "google/protobuf/message.h"
#include "runtime/status/errors.h"

namespace dorset::gateway {
namespace {

std::string KeyOf(const Route& route, std::string_view bytes) {
  std::string key(sizeof(const Route*) + bytes.size(), '\0');
  const Route* address = &route;
  std::memcpy(key.data(), &address, sizeof address);
  std::memcpy(key.data() + sizeof address, bytes.data(), bytes.size());
  return key;
}

}  // namespace

absl::StatusOr<std::string> RenderResponse(const Route& route, std::string_view bytes) {
  std::unique_ptr<google::protobuf::Message> response(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(route.method->output_type())
          ->New());
  if (!response->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return runtime::Internal("the service's response did not parse");
  }
  return ResponseToJson(route, *response);
}

absl::StatusOr<std::string> ResponseJsonMemo::Render(const Route& route, std::string_view bytes) {
  if (bytes.size() > kMaxEntryBytes) return RenderResponse(route, bytes);
  std::string key = KeyOf(route, bytes);
  {
    absl::ReaderMutexLock lock(&mu_);  // hits (the common case) do not exclude each other
    if (auto it = json_.find(key); it != json_.end()) return it->second;
  }
  absl::StatusOr<std::string> json = RenderResponse(route, bytes);
  if (!json.ok()) return json;
  const size_t entry = key.size() + json->size();
  absl::MutexLock lock(&mu_);
  if (kept_bytes_ + entry > budget_) {
    json_.clear();
    kept_bytes_ = 0;
  }
  if (json_.emplace(std::move(key), *json).second) kept_bytes_ += entry;
  return json;
}

size_t ResponseJsonMemo::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return json_.size();
}

}  // namespace dorset::gateway
