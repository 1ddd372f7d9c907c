// A group's audit events packed into ONE row of a SQLite store's audit outbox (issue 16, session
// 25; audit_outbox.h): the group committer's transaction writes one small blob instead of a row
// per event, and the trail's writer unpacks it, in order, into audit_event rows.
//
// The form (version 1), chosen for cost (bench/README.md, "Session 25"): a format byte, the event
// count (varint), then per event a byte of flags (bit i: text field i is the previous event's,
// not repeated), the time in microseconds as a zigzag varint of its difference from the previous
// event's (the first's from 0), and each text field not flagged as a varint length and its bytes.
// Fields, in order: principal, method, resource, action, request_id, outcome. The fields a group
// repeats (principal, method, action, outcome) are mostly written once.
#ifndef DORSET_RUNTIME_AUDIT_OUTBOX_PACKING_H_
#define DORSET_RUNTIME_AUDIT_OUTBOX_PACKING_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/audit/audit_outbox.h"

namespace dorset::runtime::outbox_packing {

// One event as views of bytes kept elsewhere (a packed row, a call's or a message's strings).
struct EventView {
  int64_t time_us = 0;
  std::string_view principal;
  std::string_view method;
  std::string_view resource;
  std::string_view action;
  std::string_view request_id;
  std::string_view outcome;
};

// Appends the packed form of `rows` (in their order) to `out`.
void Pack(std::span<const OutboxRow> rows, std::string& out);
// The same for events already viewed (a row of an older version, re-packed as a group of one).
void Pack(std::span<const EventView> events, std::string& out);

// Adds the events of `packed` to `events` in their order, as views of `packed`'s bytes (which
// must outlive them). DATA_LOSS when the bytes are not a whole packed group of this form (then
// some events may have been added: the caller drops the move).
absl::Status Unpack(std::string_view packed, std::vector<EventView>& events);

// The events one write of the trail moves out of the outboxes, in their order, viewing the rows
// read (kept here until the write is done).
struct MovedEvents {
  std::deque<std::string> rows;  // each read row's bytes, packed (never moved once added)
  std::vector<EventView> events;
};

}  // namespace dorset::runtime::outbox_packing

#endif  // DORSET_RUNTIME_AUDIT_OUTBOX_PACKING_H_
