#include "runtime/status/grpc_status.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/rpc/error_details.pb.h"
#include "runtime/status/errors.h"

namespace dorset::runtime {
namespace {

// Bounds on what a status carries to the caller in trailers, which clients cap (8 KiB by
// default): the message, every string in a detail, the entries of repeated detail fields (e.g.
// BadRequest violations), and the details in all (those beyond it are left out).
constexpr size_t kMaxStatusMessageBytes = 512;
constexpr size_t kMaxDetailStringBytes = 256;
constexpr int kMaxRepeatedDetailEntries = 8;
constexpr size_t kMaxStatusDetailsBytes = 3072;

// `text` cut to at most `max` bytes on a UTF-8 character boundary, marked when cut.
std::string Truncated(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  static constexpr std::string_view kMark = "...(truncated)";
  size_t cut = max > kMark.size() ? max - kMark.size() : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string out(text.substr(0, cut));
  out.append(kMark);
  return out;
}

// Shortens every string of a detail message (and keeps the first few entries of repeated
// fields), recursively, so no detail can carry a client's 100 KB name back to it.
void TruncateStrings(google::protobuf::Message& message) {
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->is_repeated()) {
      while (reflection->FieldSize(message, field) > kMaxRepeatedDetailEntries) {
        reflection->RemoveLast(&message, field);
      }
      for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
        if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
          reflection->SetRepeatedString(
              &message, field, j,
              Truncated(reflection->GetRepeatedString(message, field, j), kMaxDetailStringBytes));
        } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
          TruncateStrings(*reflection->MutableRepeatedMessage(&message, field, j));
        }
      }
    } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
      if (reflection->HasField(message, field)) {
        reflection->SetString(
            &message, field,
            Truncated(reflection->GetString(message, field), kMaxDetailStringBytes));
      }
    } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE &&
               reflection->HasField(message, field)) {
      TruncateStrings(*reflection->MutableMessage(&message, field));
    }
  }
}

// A payload made fit for the trailer, or nullopt when it cannot be (unknown type, too big).
std::optional<std::string> FitDetail(std::string_view url, const std::string& value) {
  const std::string_view prefix = "type.googleapis.com/";
  if (url.substr(0, prefix.size()) != prefix) return std::nullopt;
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          std::string(url.substr(prefix.size())));
  if (descriptor == nullptr) return std::nullopt;
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  if (!message->ParseFromString(value)) return std::nullopt;
  TruncateStrings(*message);
  return message->SerializeAsString();
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  absl::Status with_info = status;
  const std::string info_url =
      absl::StrCat("type.googleapis.com/", google::rpc::ErrorInfo::descriptor()->full_name());
  if (!with_info.GetPayload(info_url).has_value()) {
    with_info = WithReason(with_info, absl::StatusCodeToString(status.code()));
  }
  // Messages and details travel in trailers, which clients cap (8 KiB by default): a name the
  // client sent, echoed back whole, would turn the answer into a transport error. So both are
  // cut here, at the edge, whatever the service put in them.
  const std::string message(Truncated(
      std::string_view(status.message().data(), status.message().size()), kMaxStatusMessageBytes));
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(message);
  size_t details_bytes = 0;
  with_info.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    std::optional<std::string> value =
        FitDetail(std::string_view(url.data(), url.size()), std::string(payload));
    if (!value.has_value() || details_bytes + value->size() > kMaxStatusDetailsBytes) return;
    details_bytes += value->size();
    auto* any = rpc_status.add_details();
    any->set_type_url(std::string(url));
    any->set_value(*std::move(value));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      rpc_status.SerializeAsString());
}

google::rpc::Status DecodeDetails(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  if (!status.error_details().empty()) rpc_status.ParseFromString(status.error_details());
  return rpc_status;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  const google::rpc::Status details = DecodeDetails(status);
  for (const auto& any : details.details()) {
    out.SetPayload(any.type_url(), absl::Cord(any.value()));
  }
  return out;
}

}  // namespace dorset::runtime
