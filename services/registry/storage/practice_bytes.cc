#include "services/registry/storage/practice_bytes.h"

#include <utility>

#include "runtime/base/string_view.h"

namespace dorset::registry {

bool PracticeBytesMemo::AppendField(std::string_view code, std::string_view data, int64_t revision,
                                    int field, std::string* out) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = entries_.find(ToAbsl(code));
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  if (e.revision != revision || (e.data_is_bytes ? e.bytes : e.data) != data) return false;
  wire::AppendBytesField(field, e.bytes, out);
  return true;
}

bool PracticeBytesMemo::AppendKeptField(std::string_view code, int64_t revision, int field,
                                        std::string* out) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = entries_.find(ToAbsl(code));
  if (it == entries_.end() || it->second.revision != revision) return false;
  wire::AppendBytesField(field, it->second.bytes, out);
  return true;
}

void PracticeBytesMemo::Keep(std::string_view code, std::string_view data, int64_t revision,
                             std::string bytes) {
  Entry entry;
  entry.revision = revision;
  entry.data_is_bytes = bytes == data;
  if (!entry.data_is_bytes) entry.data = std::string(data);
  entry.bytes = std::move(bytes);
  const size_t size = Size(code, entry);
  if (size > max_bytes_ / 4) return;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(ToAbsl(code));
  if (it != entries_.end()) {
    bytes_ -= Size(code, it->second);
    it->second = std::move(entry);
  } else {
    if (bytes_ + size > max_bytes_) {
      entries_.clear();
      bytes_ = 0;
    }
    entries_.emplace(std::string(code), std::move(entry));
  }
  bytes_ += size;
}

size_t PracticeBytesMemo::bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return bytes_;
}

size_t PracticeBytesMemo::entries() const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.size();
}

namespace wire {

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendBytesField(int field, std::string_view bytes, std::string* out) {
  AppendVarint((static_cast<uint64_t>(field) << 3) | 2, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

void AppendInt32Field(int field, int32_t value, std::string* out) {
  AppendVarint(static_cast<uint64_t>(field) << 3, out);
  // int32 is sign-extended to 64 bits on the wire.
  AppendVarint(static_cast<uint64_t>(static_cast<int64_t>(value)), out);
}

}  // namespace wire
}  // namespace dorset::registry
