// The audit outbox's forms on SQLite compared by instructions (issue 16, session 25; built and
// run under callgrind by bench/outbox_packing_cost.sh): a group's events written by its
// transaction and moved into the trail (another file, attached), as
//   rows: a row per event, one multi-row INSERT a group; moved by one INSERT ... SELECT;
//   blob: one row a group, the events packed as runtime/audit/outbox_packing.cc packs them
//         (flags, zigzag time step, varint lengths, repeated fields once); unpacked here and
//         bound to multi-row INSERTs (64, 32, ..., 1 rows) into the trail;
//   json: one row a group, a JSON array of 7-element arrays built here (texts escaped); moved by
//         one INSERT ... SELECT over json_each, each field taken with ->>.
// Each form's write and move run in their own functions (WriteGroups, MoveAll), so that
// callgrind_annotate --inclusive=yes gives each one's instructions; the script divides them by
// the events. Standalone on purpose (the system's SQLite only): the same SQL the services run.
//   outbox_packing_cost <rows|blob|json> <dir> [groups] [events a group]
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Event {
  int64_t time_us;
  std::string principal, method, resource, action, request_id, outcome;
};

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

void Exec(sqlite3* db, const char* sql) {
  Check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql);
}

sqlite3_stmt* Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  Check(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), db, sql.c_str());
  return stmt;
}

void Run(sqlite3_stmt* stmt, sqlite3* db) {
  Check(sqlite3_step(stmt), db, "step");
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
}

void PutVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

uint64_t GetVarint(const unsigned char*& p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const unsigned char b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
}

const std::string Event::*const kTexts[] = {&Event::principal, &Event::method,     &Event::resource,
                                            &Event::action,    &Event::request_id, &Event::outcome};

void PackBlob(const Event* events, size_t n, std::string& out) {
  out.push_back(1);
  PutVarint(n, out);
  const Event* prev = nullptr;
  int64_t prev_time = 0;
  for (size_t i = 0; i < n; ++i) {
    const Event& e = events[i];
    unsigned same = 0;
    for (int f = 0; f < 6; ++f) {
      if (prev != nullptr ? e.*kTexts[f] == prev->*kTexts[f] : (e.*kTexts[f]).empty())
        same |= 1u << f;
    }
    out.push_back(static_cast<char>(same));
    const int64_t step = e.time_us - prev_time;
    PutVarint((static_cast<uint64_t>(step) << 1) ^ static_cast<uint64_t>(step >> 63), out);
    for (int f = 0; f < 6; ++f) {
      if ((same & (1u << f)) != 0) continue;
      PutVarint((e.*kTexts[f]).size(), out);
      out.append(e.*kTexts[f]);
    }
    prev = &e;
    prev_time = e.time_us;
  }
}

void JsonText(const std::string& s, std::string& out) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void PackJson(const Event* events, size_t n, std::string& out) {
  out.push_back('[');
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('[');
    out.append(std::to_string(events[i].time_us));
    for (int f = 0; f < 6; ++f) {
      out.push_back(',');
      JsonText(events[i].*kTexts[f], out);
    }
    out.push_back(']');
  }
  out.push_back(']');
}

std::string MultiRow(const char* head, int rows, int columns) {
  std::string sql = head;
  for (int r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ",(";
    for (int c = 0; c < columns; ++c) sql += c == 0 ? "?" : ",?";
    sql += ")";
  }
  return sql;
}

constexpr char kOutboxInsert[] =
    "INSERT INTO audit_outbox(time_us, principal, method, resource, action, request_id, outcome) "
    "VALUES ";
constexpr char kTrailInsert[] =
    "INSERT INTO main.audit_event(time_us, principal, method, resource, action, request_id, "
    "outcome) VALUES ";

// The groups' transactions on the store: each a group's outbox write and the delete of the rows
// moved before it (as AuditOutbox::Append).
__attribute__((noinline)) void WriteGroups(const std::string& form, sqlite3* store,
                                           const std::vector<Event>& events, size_t group,
                                           int64_t& deleted_to, const int64_t* moved_to) {
  // Prepared once and kept, as the services' statement caches keep them.
  static sqlite3_stmt* const insert =
      form == "rows" ? Prepare(store, MultiRow(kOutboxInsert, static_cast<int>(group), 7))
                     : Prepare(store,
                               "INSERT INTO audit_outbox(time_us, principal, method, resource, "
                               "action, request_id, outcome, events, event_count) VALUES (?, '', "
                               "'', '', '', '', '', ?, ?)");
  static sqlite3_stmt* const remove = Prepare(store, "DELETE FROM audit_outbox WHERE id <= ?");
  std::string packed;
  for (size_t first = 0; first < events.size(); first += group) {
    Exec(store, "BEGIN IMMEDIATE");
    if (form == "rows") {
      for (size_t i = 0; i < group; ++i) {
        const Event& e = events[first + i];
        const int base = static_cast<int>(i) * 7;
        sqlite3_bind_int64(insert, base + 1, e.time_us);
        for (int f = 0; f < 6; ++f) {
          const std::string& t = e.*kTexts[f];
          sqlite3_bind_text(insert, base + 2 + f, t.data(), static_cast<int>(t.size()),
                            SQLITE_STATIC);
        }
      }
    } else {
      packed.clear();
      if (form == "blob") {
        PackBlob(&events[first], group, packed);
        sqlite3_bind_blob(insert, 2, packed.data(), static_cast<int>(packed.size()), SQLITE_STATIC);
      } else {
        PackJson(&events[first], group, packed);
        sqlite3_bind_text(insert, 2, packed.data(), static_cast<int>(packed.size()), SQLITE_STATIC);
      }
      sqlite3_bind_int64(insert, 1, events[first].time_us);
      sqlite3_bind_int64(insert, 3, static_cast<int64_t>(group));
    }
    Run(insert, store);
    if (moved_to != nullptr && *moved_to > deleted_to) {
      sqlite3_bind_int64(remove, 1, *moved_to);
      Run(remove, store);
      deleted_to = *moved_to;
    }
    Exec(store, "COMMIT");
  }
}

struct View {
  int64_t time_us;
  std::string_view text[6];
};

// The trail's moves: every `groups_a_move` groups' rows, in one transaction of the trail with
// its mark (as AuditLog::MoveFromSqlite).
__attribute__((noinline)) void MoveAll(const std::string& form, sqlite3* trail, int64_t& mark) {
  Exec(trail, "BEGIN");
  static sqlite3_stmt* const save =
      Prepare(trail, "INSERT OR REPLACE INTO audit_outbox_drained VALUES ('s', ?)");
  if (form == "rows" || form == "json") {
    static sqlite3_stmt* const last =
        Prepare(trail, "SELECT MAX(id) FROM s.audit_outbox WHERE id > ?");
    sqlite3_bind_int64(last, 1, mark);
    Check(sqlite3_step(last), trail, "last");
    const int64_t to =
        sqlite3_column_type(last, 0) == SQLITE_NULL ? mark : sqlite3_column_int64(last, 0);
    sqlite3_reset(last);
    const std::string sql =
        form == "rows"
            ? "INSERT INTO main.audit_event(time_us, principal, method, resource, action, "
              "request_id, outcome) SELECT time_us, principal, method, resource, action, "
              "request_id, outcome FROM s.audit_outbox WHERE id > ?1 AND id <= ?2 ORDER BY id"
            : "INSERT INTO main.audit_event(time_us, principal, method, resource, action, "
              "request_id, outcome) SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, "
              "j.value->>4, j.value->>5, j.value->>6 FROM s.audit_outbox o, json_each(o.events) j "
              "WHERE o.id > ?1 AND o.id <= ?2 ORDER BY o.id, j.key";
    static sqlite3_stmt* const copy = Prepare(trail, sql);
    sqlite3_bind_int64(copy, 1, mark);
    sqlite3_bind_int64(copy, 2, to);
    Run(copy, trail);
    mark = to;
  } else {
    static sqlite3_stmt* const read =
        Prepare(trail, "SELECT id, events FROM s.audit_outbox WHERE id > ? ORDER BY id");
    sqlite3_bind_int64(read, 1, mark);
    std::vector<std::string> rows;
    std::vector<View> views;
    while (sqlite3_step(read) == SQLITE_ROW) {
      mark = sqlite3_column_int64(read, 0);
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(read, 1));
      rows.emplace_back(reinterpret_cast<const char*>(p), sqlite3_column_bytes(read, 1));
    }
    sqlite3_reset(read);
    for (const std::string& row : rows) {
      const auto* p = reinterpret_cast<const unsigned char*>(row.data()) + 1;
      const uint64_t n = GetVarint(p);
      View prev{};
      for (uint64_t i = 0; i < n; ++i) {
        View v = prev;
        const unsigned same = *p++;
        const uint64_t z = GetVarint(p);
        v.time_us = prev.time_us + static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
        for (int f = 0; f < 6; ++f) {
          if ((same & (1u << f)) != 0) continue;
          const uint64_t size = GetVarint(p);
          v.text[f] = std::string_view(reinterpret_cast<const char*>(p), size);
          p += size;
        }
        views.push_back(v);
        prev = v;
      }
    }
    static sqlite3_stmt* shapes[7] = {};
    size_t done = 0;
    for (int shape = 0; shape < 7; ++shape) {
      const size_t rows_a = size_t{64} >> shape;
      while (views.size() - done >= rows_a) {
        if (shapes[shape] == nullptr)
          shapes[shape] = Prepare(trail, MultiRow(kTrailInsert, static_cast<int>(rows_a), 7));
        for (size_t r = 0; r < rows_a; ++r) {
          const View& v = views[done + r];
          sqlite3_bind_int64(shapes[shape], static_cast<int>(r) * 7 + 1, v.time_us);
          for (int f = 0; f < 6; ++f) {
            sqlite3_bind_text(shapes[shape], static_cast<int>(r) * 7 + 2 + f, v.text[f].data(),
                              static_cast<int>(v.text[f].size()), SQLITE_STATIC);
          }
        }
        Run(shapes[shape], trail);
        done += rows_a;
      }
    }
  }
  sqlite3_bind_int64(save, 1, mark);
  Run(save, trail);
  Exec(trail, "COMMIT");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <rows|blob|json> <dir> [groups] [events a group]\n", argv[0]);
    return 2;
  }
  const std::string form = argv[1];
  const std::string dir = argv[2];
  const size_t groups = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2000;
  const size_t group = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 10;
  std::vector<Event> events;
  for (size_t i = 0; i < groups * group; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "w-%08zx-4c1d-4e2a-9b3f-%012zx", i * 7919, i);
    events.push_back({1764800000000000 + static_cast<int64_t>(i) * 37, "bench-client",
                      "/dorset.finance.v1.FinanceService/CreatePosting",
                      "plans/stp/programmes/p1/schemes/s1/postings/" + std::to_string(1000 + i),
                      "CreatePosting", id, "OK"});
  }
  sqlite3* store = nullptr;
  sqlite3* trail = nullptr;
  Check(sqlite3_open((dir + "/store.db").c_str(), &store), store, "open store");
  Check(sqlite3_open((dir + "/audit.db").c_str(), &trail), trail, "open trail");
  Exec(store,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE audit_outbox(id INTEGER "
       "PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL, principal TEXT NOT NULL, method TEXT "
       "NOT NULL, resource TEXT NOT NULL, action TEXT NOT NULL, request_id TEXT NOT NULL, outcome "
       "TEXT NOT NULL, events BLOB, event_count INTEGER NOT NULL DEFAULT 1)");
  Exec(trail,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE audit_event(sequence "
       "INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL, principal TEXT NOT NULL, "
       "method TEXT NOT NULL, resource TEXT NOT NULL, action TEXT NOT NULL, request_id TEXT NOT "
       "NULL, outcome TEXT NOT NULL); CREATE INDEX audit_event_principal ON "
       "audit_event(principal, sequence); CREATE TABLE audit_outbox_drained(source TEXT PRIMARY "
       "KEY, last_id INTEGER NOT NULL)");
  Check(sqlite3_exec(trail, ("ATTACH DATABASE '" + dir + "/store.db' AS s").c_str(), nullptr,
                     nullptr, nullptr),
        trail, "attach");
  // Two groups' worth at a time, as at ~10 groups between moves (kMoveInterval) at this load:
  // write 20 groups, move, and so on; the next groups delete what was moved.
  int64_t mark = 0;
  int64_t deleted_to = 0;
  const size_t per_move = 20;
  for (size_t first = 0; first < groups; first += per_move) {
    const size_t n = std::min(per_move, groups - first);
    const std::vector<Event> slice(
        events.begin() + static_cast<std::ptrdiff_t>(first * group),
        events.begin() + static_cast<std::ptrdiff_t>((first + n) * group));
    WriteGroups(form, store, slice, group, deleted_to, &mark);
    MoveAll(form, trail, mark);
  }
  sqlite3_stmt* count =
      Prepare(trail, "SELECT COUNT(*), COUNT(DISTINCT request_id) FROM audit_event");
  sqlite3_step(count);
  std::printf("%s: %lld events in the trail (%lld distinct) of %zu\n", form.c_str(),
              static_cast<long long>(sqlite3_column_int64(count, 0)),
              static_cast<long long>(sqlite3_column_int64(count, 1)), events.size());
  sqlite3_finalize(count);
  sqlite3_close_v2(trail);
  sqlite3_close_v2(store);
  return 0;
}
