#include "services/registry/client/cache_json.h"

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"

namespace dorset::registry::cache_json {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// (current name, v1 name) per enum type. Fixed: these are the spellings the v1 values were
// published with, whatever the enums are called later.
const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& V1Spellings() {
  static const auto* const tables =
      new std::map<std::string, std::vector<std::pair<std::string, std::string>>>{
          {"dorset.registry.v1.Practice.Status",
           {{"STATUS_ACTIVE", "ACTIVE"},
            {"STATUS_CLOSED", "CLOSED"},
            {"STATUS_DORMANT", "DORMANT"},
            {"STATUS_PROPOSED", "PROPOSED"}}},
          {"dorset.registry.v1.Change.Kind",
           {{"KIND_PRACTICE_CREATED", "PRACTICE_CREATED"},
            {"KIND_PRACTICE_UPDATED", "PRACTICE_UPDATED"},
            {"KIND_PRACTICE_CLOSED", "PRACTICE_CLOSED"},
            {"KIND_LOCALITY_UPSERTED", "LOCALITY_UPSERTED"},
            {"KIND_CLUSTER_UPSERTED", "CLUSTER_UPSERTED"},
            {"KIND_PRACTICE_REOPENED", "PRACTICE_REOPENED"}}},
      };
  return *tables;
}

// JSON field name -> (from -> to) for the enum fields reachable from a message type.
using Renames = std::map<std::string, std::map<std::string, std::string>>;

void Collect(const Descriptor& type, bool to_v1, std::set<const Descriptor*>& seen, Renames& out,
             std::string* missing) {
  if (!seen.insert(&type).second) return;
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* f = type.field(i);
    if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      Collect(*f->message_type(), to_v1, seen, out, missing);
    } else if (f->type() == FieldDescriptor::TYPE_ENUM) {
      const auto table = V1Spellings().find(f->enum_type()->full_name());
      if (table == V1Spellings().end()) {
        if (missing != nullptr && missing->empty()) *missing = f->full_name();
        continue;
      }
      for (const auto& [current, v1] : table->second) {
        if (to_v1) {
          out[f->json_name()][current] = v1;
        } else {
          out[f->json_name()][v1] = current;
        }
      }
    }
  }
}

const Renames& RenamesFor(const Descriptor& type, bool to_v1) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* const cache = new std::map<std::pair<const Descriptor*, bool>, Renames>();
  absl::MutexLock lock(&mu);
  auto [it, inserted] = cache->try_emplace({&type, to_v1});
  if (inserted) {
    std::set<const Descriptor*> seen;
    Collect(type, to_v1, seen, it->second, nullptr);
  }
  return it->second;
}

// Rewrites the string value of every `"<field>" : "<value>"` (and of every string in a
// `"<field>" : [...]` array) whose field is in `renames`. In JSON a quote inside a string is
// always escaped, so an unescaped `"name"` followed by a colon is a key, never string content.
std::string Rewrite(std::string_view json, const Renames& renames) {
  std::string out;
  out.reserve(json.size());
  size_t i = 0;
  auto skip_space = [&](size_t p) {
    while (p < json.size() && absl::ascii_isspace(static_cast<unsigned char>(json[p]))) ++p;
    return p;
  };
  // Reads a JSON string starting at json[p] == '"'; returns the index after its closing quote.
  auto string_end = [&](size_t p) {
    for (++p; p < json.size(); ++p) {
      if (json[p] == '\\') {
        ++p;
      } else if (json[p] == '"') {
        return p + 1;
      }
    }
    return json.size();
  };
  while (i < json.size()) {
    if (json[i] != '"') {
      out.push_back(json[i++]);
      continue;
    }
    const size_t end = string_end(i);
    const std::string_view token = json.substr(i, end - i);
    out.append(token);
    i = end;
    const size_t colon = skip_space(i);
    if (colon >= json.size() || json[colon] != ':' || token.size() < 2) continue;
    const auto field = renames.find(std::string(token.substr(1, token.size() - 2)));
    if (field == renames.end()) continue;
    out.append(json.substr(i, colon + 1 - i));
    i = skip_space(colon + 1);
    out.append(json.substr(colon + 1, i - colon - 1));
    const bool array = i < json.size() && json[i] == '[';
    do {
      if (array) {
        out.push_back(json[i]);  // '[' or ','
        const size_t next = skip_space(i + 1);
        out.append(json.substr(i + 1, next - i - 1));
        i = next;
      }
      if (i >= json.size() || json[i] != '"') break;
      const size_t value_end = string_end(i);
      const std::string value(json.substr(i + 1, value_end - i - 2));
      const auto renamed = field->second.find(value);
      if (renamed != field->second.end()) {
        absl::StrAppend(&out, "\"", renamed->second, "\"");
      } else {
        out.append(json.substr(i, value_end - i));
      }
      i = skip_space(value_end);
      out.append(json.substr(value_end, i - value_end));
    } while (array && i < json.size() && json[i] == ',');
  }
  return out;
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;  // lowerCamelCase: the canonical JSON mapping
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return Rewrite(json, RenamesFor(*message.GetDescriptor(), /*to_v1=*/true));
}

absl::Status FromJson(std::string_view json, google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = true;
  const std::string current = Rewrite(json, RenamesFor(*message.GetDescriptor(), false));
  const auto status = google::protobuf::util::JsonStringToMessage(current, &message, parse);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return absl::OkStatus();
}

bool CoversEveryEnum(const Descriptor& type, std::string* missing) {
  std::set<const Descriptor*> seen;
  Renames ignored;
  std::string first;
  Collect(type, true, seen, ignored, &first);
  if (missing != nullptr) *missing = first;
  return first.empty();
}

}  // namespace dorset::registry::cache_json
