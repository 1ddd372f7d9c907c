// A practice as its reply bytes (issue 16): ListPractices answers with pages of up to 50
// practices, and building each one as a message from its stored row (parse, fix the etag,
// serialise, destroy) was most of a page's cost once the SQL was cheap. The reply is a pure
// function of the stored row's `data` and `revision` (store.cc, ReadPracticeRow), so this memo
// keeps, per practice, the serialized `v1::Practice` worked out for one (data, revision) and
// hands it out again for exactly that pair: the stored bytes are compared, not a version, so a
// kept entry can never be out of date whatever wrote the row. A page is then the kept bytes
// copied into the ListPracticesResponse's wire format (wire.h), no message built.
//
// Bounded by bytes (cleared when full: the memo is a shortcut, never the only copy of anything).
// Thread-safe; the registry keeps one per store.
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_PRACTICE_BYTES_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_PRACTICE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace dorset::registry {

class PracticeBytesMemo {
 public:
  // The national extract (16,534 practices) needs an estimated 6-8 MiB (~400 bytes a practice).
  static constexpr size_t kDefaultMaxBytes = 24 << 20;
  explicit PracticeBytesMemo(size_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}

  // When the bytes kept for practice `code` were worked out from exactly `data` at `revision`,
  // appends them to `out` as field `field` of the enclosing message (tag, length, bytes) and
  // returns true.
  bool AppendField(std::string_view code, std::string_view data, int64_t revision, int field,
                   std::string* out) const;
  // When bytes are kept for practice `code` at `revision`, appends them as AppendField does and
  // returns true, without the stored `data` to compare: for the SQLite walk of a page, which
  // reads (ods_code, revision) from an index and not the rows (practice_pages.cc). Sound because
  // in a running registry a practice's revision names one `data`: the only writer of practice
  // rows (WriteTx's upsert, write_tx_bulk.cc) writes revision + 1 over the stored revision in
  // the same transaction (on SQLite one writer at a time), practices are never deleted (so a
  // code never starts again at revision 1), the pre-lane repairs that rewrote `data` in place
  // (legacy_sqlite.cc) run when the store opens, before any read, and entries are kept only from
  // committed reads (Keep is called by ListPracticeBytes alone).
  bool AppendKeptField(std::string_view code, int64_t revision, int field, std::string* out) const;
  // Keeps `bytes`, the serialized practice worked out from `data` at `revision`.
  void Keep(std::string_view code, std::string_view data, int64_t revision, std::string bytes);

  size_t bytes() const;
  size_t entries() const;

 private:
  struct Entry {
    int64_t revision = 0;
    std::string data;  // empty when it is `bytes` itself (the usual case)
    bool data_is_bytes = false;
    std::string bytes;
  };
  static size_t Size(std::string_view code, const Entry& e) {
    return code.size() + e.data.size() + e.bytes.size() + sizeof(Entry);
  }

  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

// Protocol-buffer wire format for a reply assembled from bytes (length-delimited fields and
// varints, exactly as protobuf's serialiser writes them).
namespace wire {
void AppendVarint(uint64_t value, std::string* out);
// Field `field` of wire type LEN: tag, length, `bytes`.
void AppendBytesField(int field, std::string_view bytes, std::string* out);
// Field `field` of type int32 (a negative value takes ten bytes, as protobuf writes it).
void AppendInt32Field(int field, int32_t value, std::string* out);
}  // namespace wire

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_PRACTICE_BYTES_H_
