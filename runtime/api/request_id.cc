#include "runtime/api/request_id.h"

#include <openssl/evp.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "runtime/auth/token_store.h"
#include "runtime/status/errors.h"

namespace dorset::runtime {
namespace {

// Sized once and written in place: a StringOutputStream grew the string in steps (and
// SerializeToCodedStream sized the message a second time), ~4.3k instructions for a 150-byte
// CreateResponseRequest (bench/README.md, session 21). The bytes are the same.
std::string Deterministic(const google::protobuf::Message& request) {
  const size_t size = request.ByteSizeLong();
  std::string bytes(size, '\0');
  google::protobuf::io::ArrayOutputStream stream(bytes.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  request.SerializeWithCachedSizes(&coded);
  coded.Trim();
  bytes.resize(static_cast<size_t>(coded.ByteCount()));
  return bytes;
}

std::string Hex(const unsigned char* digest, unsigned int size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace

absl::Status CheckRequestId(std::string_view request_id, std::string_view field) {
  if (request_id.size() > kMaxRequestIdBytes) {
    return InvalidArgument(field, "at most 128 characters");
  }
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidArgument(field, "printable ASCII without spaces only");
    }
  }
  return absl::OkStatus();
}

// Must stay byte-for-byte what engagement stored before this helper existed (its request_log
// hashes are compared against it).
std::string RequestHash(const google::protobuf::Message& request) {
  return Sha256Hex(Deterministic(request));
}

struct RequestHasher::Digest {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
};

RequestHasher::RequestHasher(const google::protobuf::Message& request)
    : digest_(std::make_unique<Digest>()) {
  const std::string head = Deterministic(request);
  const std::string prefix = absl::StrCat(head.size(), ":");
  // Fetched once: OpenSSL 3 looks EVP_sha256() up in its provider tables at every init
  // (runtime/auth/token_store.cc's Sha256Hex does the same).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_DigestInit_ex2(digest_->ctx.get(), sha256 != nullptr ? sha256 : EVP_sha256(), nullptr);
  EVP_DigestUpdate(digest_->ctx.get(), prefix.data(), prefix.size());
  EVP_DigestUpdate(digest_->ctx.get(), head.data(), head.size());
}

RequestHasher::~RequestHasher() = default;

void RequestHasher::AddBody(std::string_view piece) {
  EVP_DigestUpdate(digest_->ctx.get(), piece.data(), piece.size());
}

std::string RequestHasher::Finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(digest_->ctx.get(), digest, &size);
  return Hex(digest, size);
}

std::string RequestHash(const google::protobuf::Message& request, std::string_view body) {
  RequestHasher hasher(request);
  hasher.AddBody(body);
  return hasher.Finish();
}

absl::Status RequestIdReused(std::string_view field) {
  return WithReason(AlreadyExists("Request", field,
                                  "this request_id was already used for a different request; "
                                  "use a new request_id for a new request"),
                    kRequestIdReused);
}

absl::Status CheckReplay(std::string_view stored_hash, std::string_view hash,
                         std::string_view field) {
  if (stored_hash.empty() || stored_hash == hash) return absl::OkStatus();
  return RequestIdReused(field);
}

}  // namespace dorset::runtime
