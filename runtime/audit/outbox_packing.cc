#include "runtime/audit/outbox_packing.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace dorset::runtime::outbox_packing {
namespace {

constexpr char kFormat = 1;
// The text fields in their packed order (flag bit i: field i).
constexpr std::array<std::string_view EventView::*, 6> kTexts = {
    &EventView::principal, &EventView::method,     &EventView::resource,
    &EventView::action,    &EventView::request_id, &EventView::outcome};

void PutVarint(uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool GetVarint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Times differ by wrapping (unsigned) arithmetic, zigzagged so a small step either way is short.
uint64_t TimeStep(int64_t time, int64_t previous) {
  const auto step =
      static_cast<int64_t>(static_cast<uint64_t>(time) - static_cast<uint64_t>(previous));
  return (static_cast<uint64_t>(step) << 1) ^ static_cast<uint64_t>(step >> 63);
}

int64_t TimeAfter(int64_t previous, uint64_t zigzag) {
  const uint64_t step = (zigzag >> 1) ^ (~(zigzag & 1) + 1);
  return static_cast<int64_t>(static_cast<uint64_t>(previous) + step);
}

EventView ViewOf(const OutboxRow& row) {
  return {row.time_us, row.principal,  row.method, row.resource,
          row.action,  row.request_id, row.outcome};
}

template <typename At>
void PackEach(size_t count, const At& at, std::string& out) {
  out.push_back(kFormat);
  PutVarint(count, out);
  EventView previous;  // empty texts, time 0
  for (size_t i = 0; i < count; ++i) {
    const EventView event = at(i);
    uint8_t same = 0;
    for (size_t f = 0; f < kTexts.size(); ++f) {
      if (event.*kTexts[f] == previous.*kTexts[f]) same |= static_cast<uint8_t>(1u << f);
    }
    out.push_back(static_cast<char>(same));
    PutVarint(TimeStep(event.time_us, previous.time_us), out);
    for (size_t f = 0; f < kTexts.size(); ++f) {
      if ((same & (1u << f)) != 0) continue;
      const std::string_view text = event.*kTexts[f];
      PutVarint(text.size(), out);
      out.append(text);
    }
    previous = event;
  }
}

}  // namespace

void Pack(std::span<const OutboxRow> rows, std::string& out) {
  PackEach(
      rows.size(), [rows](size_t i) { return ViewOf(rows[i]); }, out);
}

void Pack(std::span<const EventView> events, std::string& out) {
  PackEach(
      events.size(), [events](size_t i) { return events[i]; }, out);
}

absl::Status Unpack(std::string_view packed, std::vector<EventView>& events) {
  auto damaged = [](const char* why) {
    return absl::DataLossError(absl::StrCat("audit outbox: a packed row is damaged (", why, ")"));
  };
  if (packed.empty() || packed.front() != kFormat) return damaged("unknown form");
  packed.remove_prefix(1);
  uint64_t count = 0;
  // Every event takes two bytes at least.
  if (!GetVarint(packed, count) || count > packed.size() / 2) return damaged("event count");
  events.reserve(events.size() + count);
  EventView previous;
  for (uint64_t n = 0; n < count; ++n) {
    if (packed.empty()) return damaged("cut short");
    const auto same = static_cast<uint8_t>(packed.front());
    packed.remove_prefix(1);
    if ((same >> kTexts.size()) != 0) return damaged("flags");
    uint64_t step = 0;
    if (!GetVarint(packed, step)) return damaged("cut short");
    EventView event = previous;
    event.time_us = TimeAfter(previous.time_us, step);
    for (size_t f = 0; f < kTexts.size(); ++f) {
      if ((same & (1u << f)) != 0) continue;
      uint64_t size = 0;
      if (!GetVarint(packed, size) || size > packed.size()) return damaged("cut short");
      event.*kTexts[f] = packed.substr(0, size);
      packed.remove_prefix(size);
    }
    events.push_back(event);
    previous = event;
  }
  if (!packed.empty()) return damaged("bytes after the last event");
  return absl::OkStatus();
}

}  // namespace dorset::runtime::outbox_packing
