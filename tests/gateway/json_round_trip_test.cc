// Every message type of the real contracts (registry, finance, engagement, the audit trail)
// round-trips through protobuf's canonical JSON mapping, as the gateway uses it: each field set
// by reflection to a value of its type (nested messages, repeated fields, maps, enums, 64-bit
// integers, bytes and well-known types included), printed with MessageToJsonString and read
// back with JsonStringToMessage refusing unknown fields, equals the original.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include "dorset/common/v1/audit.pb.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "dorset/finance/v1/finance.pb.h"
#include "dorset/registry/v1/registry.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace dorset::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Sets one value of `field` (added when repeated). `depth` bounds recursive message types.
void SetValue(Message& message, const FieldDescriptor* field, int depth, int variant);

void Fill(Message& message, int depth) {
  const Descriptor* type = message.GetDescriptor();
  const std::string& name = type->full_name();
  const Reflection* reflection = message.GetReflection();
  // Well-known types with JSON forms of their own: values the mapping accepts.
  if (name == "google.protobuf.Timestamp") {
    reflection->SetInt64(&message, type->FindFieldByName("seconds"), 1700000000);
    reflection->SetInt32(&message, type->FindFieldByName("nanos"), 123000000);
    return;
  }
  if (name == "google.protobuf.Duration") {
    reflection->SetInt64(&message, type->FindFieldByName("seconds"), 90);
    return;
  }
  if (name == "google.protobuf.FieldMask") {
    reflection->AddString(&message, type->FindFieldByName("paths"), "display_name");
    return;
  }
  if (name == "google.protobuf.Any" || name == "google.protobuf.Struct" ||
      name == "google.protobuf.Value" || name == "google.protobuf.ListValue" ||
      name == "google.protobuf.Empty") {
    return;  // left empty: their JSON forms need no filling to round-trip
  }
  if (depth > 3) return;
  std::set<const google::protobuf::OneofDescriptor*> oneofs_set;  // one member each
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    // One member of each oneof (setting a second would clear the first).
    if (const auto* oneof = field->real_containing_oneof(); oneof != nullptr) {
      if (!oneofs_set.insert(oneof).second) continue;
    }
    SetValue(message, field, depth, 0);
    if (field->is_repeated()) SetValue(message, field, depth, 1);
  }
}

void SetValue(Message& message, const FieldDescriptor* field, int depth, int variant) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      repeated ? r->AddInt32(&message, field, -7 - variant) : r->SetInt32(&message, field, -7);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      // Past 2^53: JSON carries 64-bit integers as strings, so nothing is lost.
      repeated ? r->AddInt64(&message, field, 9007199254740993LL + variant)
               : r->SetInt64(&message, field, 9007199254740993LL);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      repeated ? r->AddUInt32(&message, field, 7 + variant) : r->SetUInt32(&message, field, 7);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      repeated ? r->AddUInt64(&message, field, 18446744073709551615ULL - variant)
               : r->SetUInt64(&message, field, 18446744073709551615ULL);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      repeated ? r->AddDouble(&message, field, 0.25 + variant)
               : r->SetDouble(&message, field, 0.25);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      repeated ? r->AddFloat(&message, field, 0.5f + static_cast<float>(variant))
               : r->SetFloat(&message, field, 0.5f);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      repeated ? r->AddBool(&message, field, variant == 0) : r->SetBool(&message, field, true);
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = field->enum_type();
      const auto* value = e->value(std::min(e->value_count() - 1, 1 + variant));
      repeated ? r->AddEnum(&message, field, value) : r->SetEnum(&message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      // Bytes that are not UTF-8 (base64 in JSON); text with quotes, escapes and non-ASCII.
      const std::string value = field->type() == FieldDescriptor::TYPE_BYTES
                                    ? std::string("\x00\xff\x10", 3) + std::to_string(variant)
                                    : "W/\"1\" Bournemouth \xC2\xA3 \\ " + std::to_string(variant);
      repeated ? r->AddString(&message, field, value) : r->SetString(&message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (field->is_map()) {
        // A map entry: key and value filled, distinct keys per variant.
        Message* entry = r->AddMessage(&message, field);
        SetValue(*entry, field->message_type()->map_key(), depth + 1, variant);
        const FieldDescriptor* value = field->message_type()->map_value();
        if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          Fill(*entry->GetReflection()->MutableMessage(entry, value), depth + 1);
        } else {
          SetValue(*entry, value, depth + 1, variant);
        }
        // Keys of the same variant would collide; vary string/int keys.
        const FieldDescriptor* key = field->message_type()->map_key();
        if (key->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          entry->GetReflection()->SetString(entry, key, "key" + std::to_string(variant));
        }
        break;
      }
      Message* child =
          repeated ? r->AddMessage(&message, field) : r->MutableMessage(&message, field);
      Fill(*child, depth + 1);
      break;
    }
  }
}

void CollectMessages(const Descriptor* type, std::set<const Descriptor*>& out) {
  if (type->options().map_entry() || !out.insert(type).second) return;
  for (int i = 0; i < type->nested_type_count(); ++i) CollectMessages(type->nested_type(i), out);
}

TEST(JsonRoundTripTest, EveryMessageTypeOfTheContracts) {
  std::set<const Descriptor*> types;
  for (const FileDescriptor* file : {registry::v1::Practice::descriptor()->file(),
                                     finance::v1::GetPlanRequest::descriptor()->file(),
                                     engagement::v1::Stakeholder::descriptor()->file(),
                                     common::v1::AuditEvent::descriptor()->file()}) {
    for (int i = 0; i < file->message_type_count(); ++i)
      CollectMessages(file->message_type(i), types);
  }
  ASSERT_GT(types.size(), 150u);  // when this was written: every request, response and resource
  google::protobuf::DynamicMessageFactory factory;
  int checked = 0;
  for (const Descriptor* type : types) {
    SCOPED_TRACE(type->full_name());
    std::unique_ptr<Message> original(factory.GetPrototype(type)->New());
    Fill(*original, 0);
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(*original, &json).ok());
    std::unique_ptr<Message> back(factory.GetPrototype(type)->New());
    google::protobuf::util::JsonParseOptions strict;  // unknown fields refused
    const auto parsed = google::protobuf::util::JsonStringToMessage(json, back.get(), strict);
    ASSERT_TRUE(parsed.ok()) << parsed.ToString() << ": " << json;
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(*original, *back)) << diff << "\njson: " << json;
    // Printing again gives the same text: the mapping is canonical.
    std::string again;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(*back, &again).ok());
    EXPECT_EQ(json, again);
    ++checked;
  }
  std::printf("message types round-tripped: %d\n", checked);
}

}  // namespace
}  // namespace dorset::gateway
