// The gateway's direct JSON printer (gateway/json_printer.h) against protobuf's
// MessageToJsonString, the reference: for every message type of the real contracts, the
// google.rpc error details and the test contract, filled many times over with varied values
// (escapes, non-ASCII and the code points util escapes, extreme integers, timestamps of every
// precision and range, empty nested messages, each oneof member), the two agree byte for byte;
// whatever the printer declines (FieldMask, invalid UTF-8, out-of-range timestamps) it declines
// rather than printing something else, and the gateway's MessageToJson gives util's text then too.
#include "gateway/json_printer.h"

#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dorset/common/v1/audit.pb.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "dorset/finance/v1/finance.pb.h"
#include "dorset/registry/v1/registry.pb.h"
#include "gateway/transcoder.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace dorset::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string UtilJson(const Message& message) {
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json);
  return status.ok() ? json : "<util error: " + std::string(status.message()) + ">";
}

// Text that exercises every escaping rule: quotes, backslashes, controls, HTML brackets, DEL,
// C1 controls, the BMP and supplementary code points util escapes, and plain non-ASCII.
const std::vector<std::string>& Texts() {
  static const auto* texts = new std::vector<std::string>{
      "",
      "practices/J81002",
      "W/\"12\"",
      "a\\b/c",
      std::string("nul\0after", 9),
      "\x01\x07\b\t\n\x0b\f\r\x0e\x1f",
      "<script>&amp;</script>",
      "del\x7f",
      "\xc2\x80\xc2\x9f\xc2\xa0\xc2\xa3 Bournemouth",               // U+0080, U+009F, NBSP, pound
      "\xc2\xad soft hyphen, \xd8\x80 \xd8\x83 \xdb\x9d \xdc\x8f",  // U+00AD, U+0600..3, U+06DD,
                                                                    // U+070F
      "\xe1\x9e\xb4\xe1\x9e\xb5 \xe2\x80\x8b\xe2\x80\x8f \xe2\x80\xa8\xe2\x80\xae",  // 17B4/5,
                                                                                     // 200B..F,
                                                                                     // 2028..2E
      "\xe2\x81\xa0\xe2\x81\xa4 \xe2\x81\xaa\xe2\x81\xaf \xef\xbb\xbf \xef\xbf\xb9\xef\xbf\xbb",
      "\xe2\x80\x8a\xe2\x80\x90 \xe2\x81\xa5 \xef\xbf\xbc",  // neighbours not escaped
      "\xf0\x9d\x85\xb3\xf0\x9d\x85\xba \xf3\xa0\x80\x81 \xf3\xa0\x80\xa0\xf3\xa0\x81\xbf",  // 1D173..A,
                                                                                             // E0001,
                                                                                             // E0020..7F
      "\xf0\x9f\x98\x80 emoji \xf0\x9d\x85\xb2 \xf3\xa0\x82\x80",  // supplementary, not escaped
      "\xe4\xb8\xad\xe6\x96\x87 \xce\xb1\xce\xb2",
  };
  return *texts;
}

class Filler {
 public:
  explicit Filler(uint32_t seed) : random_(seed) {}

  // Fills every field (one member per oneof, chosen at random) with a value drawn from a set
  // that covers each rule; `depth` bounds recursive types.
  void Fill(Message& message, int depth) {
    const Descriptor* type = message.GetDescriptor();
    const Reflection* r = message.GetReflection();
    if (type->full_name() == "google.protobuf.Timestamp") {
      static const int64_t kSeconds[] = {0,          1,           1700000000,   -1,
                                         -86400,     951782400,   253402300799, -62135596800,
                                         4102444800, -2208988800, 1234567890,   86399};
      static const int32_t kNanos[] = {0,         1,    999999999, 123000000, 123456000,
                                       123456789, 1000, 1000000,   500000000, 10};
      r->SetInt64(&message, type->FindFieldByName("seconds"), Pick(kSeconds));
      r->SetInt32(&message, type->FindFieldByName("nanos"), Pick(kNanos));
      return;
    }
    if (type->full_name() == "google.protobuf.FieldMask") {
      if (Coin()) r->AddString(&message, type->FindFieldByName("paths"), "display_name");
      return;
    }
    if (type->file()->package() == "google.protobuf") return;  // Any, Struct, Empty: empty
    if (depth > 3) return;
    std::set<const google::protobuf::OneofDescriptor*> oneofs;
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (const auto* oneof = field->real_containing_oneof(); oneof != nullptr) {
        if (oneofs.count(oneof) || random_() % oneof->field_count() != 0) continue;
        oneofs.insert(oneof);
      }
      if (random_() % 8 == 0) continue;  // some fields left unset
      const int count = field->is_repeated() ? static_cast<int>(random_() % 4) : 1;
      for (int k = 0; k < count; ++k) SetValue(message, field, depth);
    }
  }

 private:
  template <typename T, size_t N>
  T Pick(const T (&values)[N]) {
    return values[random_() % N];
  }
  bool Coin() { return random_() % 2 == 0; }

  void SetValue(Message& message, const FieldDescriptor* field, int depth) {
    const Reflection* r = message.GetReflection();
    const bool rep = field->is_repeated();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        static const int32_t kValues[] = {0, 1, -1, 7, -7, 2147483647, -2147483647 - 1, 1000};
        const int32_t v = Pick(kValues);
        rep ? r->AddInt32(&message, field, v) : r->SetInt32(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        static const int64_t kValues[] = {
            0, 1, -1, 9007199254740993LL, INT64_MAX, INT64_MIN, 123456789012LL};
        const int64_t v = Pick(kValues);
        rep ? r->AddInt64(&message, field, v) : r->SetInt64(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        static const uint32_t kValues[] = {0, 1, 4294967295u, 77};
        const uint32_t v = Pick(kValues);
        rep ? r->AddUInt32(&message, field, v) : r->SetUInt32(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        static const uint64_t kValues[] = {0, 1, UINT64_MAX, 9007199254740993ULL};
        const uint64_t v = Pick(kValues);
        rep ? r->AddUInt64(&message, field, v) : r->SetUInt64(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
        rep ? r->AddDouble(&message, field, 0.25) : r->SetDouble(&message, field, 0.25);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        rep ? r->AddFloat(&message, field, 0.5f) : r->SetFloat(&message, field, 0.5f);
        break;
      case FieldDescriptor::CPPTYPE_BOOL: {
        const bool v = Coin();
        rep ? r->AddBool(&message, field, v) : r->SetBool(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* e = field->enum_type();
        const auto* v = e->value(static_cast<int>(random_() % e->value_count()));
        rep ? r->AddEnum(&message, field, v) : r->SetEnum(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string v;
        if (field->type() == FieldDescriptor::TYPE_BYTES) {
          const size_t length = random_() % 7;
          for (size_t i = 0; i < length; ++i) v.push_back(static_cast<char>(random_() % 256));
        } else {
          v = Texts()[random_() % Texts().size()];
        }
        rep ? r->AddString(&message, field, v) : r->SetString(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        if (field->is_map()) return;  // the contracts have none (the printer declines maps)
        Message* child = rep ? r->AddMessage(&message, field) : r->MutableMessage(&message, field);
        if (random_() % 5 != 0) Fill(*child, depth + 1);  // else set but empty: "{}"
        break;
      }
    }
  }

  std::mt19937 random_;
};

void CollectMessages(const Descriptor* type, std::set<const Descriptor*>& out) {
  if (type->options().map_entry() || !out.insert(type).second) return;
  for (int i = 0; i < type->nested_type_count(); ++i) CollectMessages(type->nested_type(i), out);
}

std::set<const Descriptor*> ContractTypes() {
  std::set<const Descriptor*> types;
  for (const FileDescriptor* file :
       {registry::v1::Practice::descriptor()->file(),
        finance::v1::GetPlanRequest::descriptor()->file(),
        engagement::v1::Stakeholder::descriptor()->file(),
        common::v1::AuditEvent::descriptor()->file(), google::rpc::Status::descriptor()->file(),
        google::rpc::BadRequest::descriptor()->file()}) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      CollectMessages(file->message_type(i), types);
    }
  }
  return types;
}

TEST(JsonPrinterTest, EveryMessageTypeOfTheContractsPrintsAsUtilDoes) {
  const std::set<const Descriptor*> types = ContractTypes();
  ASSERT_GT(types.size(), 150u);
  google::protobuf::DynamicMessageFactory dynamic;
  Filler filler(20261201);
  int printed = 0, declined = 0;
  std::set<std::string> never_printed;
  for (const Descriptor* type : types) {
    SCOPED_TRACE(type->full_name());
    bool any_printed = false;
    for (int round = 0; round < 40; ++round) {
      // Generated messages (as the gateway has) and dynamic ones (another reflection path).
      const Message* prototype =
          round % 2 == 0 ? google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)
                         : dynamic.GetPrototype(type);
      std::unique_ptr<Message> message(prototype->New());
      if (round > 0) filler.Fill(*message, 0);  // round 0: the empty message
      std::string direct;
      if (PrintCanonicalJson(*message, &direct)) {
        ASSERT_EQ(direct, UtilJson(*message)) << message->DebugString();
        ++printed;
        any_printed = true;
      } else {
        ++declined;
      }
      // The gateway's entry point gives util's text whichever way it went.
      absl::StatusOr<std::string> json = MessageToJson(*message);
      ASSERT_TRUE(json.ok()) << json.status();
      EXPECT_EQ(*json, UtilJson(*message));
    }
    if (!any_printed) never_printed.insert(type->full_name());
  }
  std::printf("printed directly: %d, declined (util printed them): %d\n", printed, declined);
  // Declined only for what the printer leaves to util: google.rpc.Status's Any details.
  EXPECT_EQ(never_printed, std::set<std::string>{}) << "types never printed directly";
  EXPECT_GT(printed, declined * 4);
}

TEST(JsonPrinterTest, TheRegistryAnswersArePrintedDirectly) {
  registry::v1::Practice practice;
  practice.set_name("practices/J81002");
  practice.set_ods_code("J81002");
  practice.set_display_name("The Quay <Surgery> \"Poole\" \xc2\xa3");
  practice.set_postcode("BH15 1AA");
  practice.mutable_update_time()->set_seconds(1764547200);
  practice.mutable_update_time()->set_nanos(123456000);
  practice.set_etag("W/\"3\"");
  std::string direct;
  ASSERT_TRUE(PrintCanonicalJson(practice, &direct));
  EXPECT_EQ(direct, UtilJson(practice));
  registry::v1::ListPracticesResponse page;
  *page.add_practices() = practice;
  *page.add_practices() = practice;
  page.set_total_size(2);
  direct.clear();
  ASSERT_TRUE(PrintCanonicalJson(page, &direct));
  EXPECT_EQ(direct, UtilJson(page));
}

TEST(JsonPrinterTest, DeclinesWhatItDoesNotPrintItself) {
  std::string out;
  registry::v1::Practice bad_text;
  bad_text.set_display_name("not \xff UTF-8");  // reflection does not check; util drops bytes
  EXPECT_FALSE(PrintCanonicalJson(bad_text, &out));
  for (const char* text : {"\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80", "\x80"}) {
    registry::v1::Practice p;
    p.set_display_name(text);
    out.clear();
    EXPECT_FALSE(PrintCanonicalJson(p, &out)) << "text bytes " << p.display_name().size();
    EXPECT_EQ(*MessageToJson(p), UtilJson(p));
  }
  registry::v1::Practice far;
  far.mutable_update_time()->set_seconds(253402300800);  // past 9999-12-31: util refuses
  out.clear();
  EXPECT_FALSE(PrintCanonicalJson(far, &out));
  registry::v1::Practice negative_nanos;
  negative_nanos.mutable_update_time()->set_nanos(-1);
  out.clear();
  EXPECT_FALSE(PrintCanonicalJson(negative_nanos, &out));
  google::rpc::Status status;
  status.set_code(3);
  status.add_details()->PackFrom(google::rpc::BadRequest());
  out.clear();
  EXPECT_FALSE(PrintCanonicalJson(status, &out));  // Any: util resolves the type
  EXPECT_EQ(*MessageToJson(status), UtilJson(status));
  google::protobuf::Timestamp top;
  out.clear();
  EXPECT_FALSE(PrintCanonicalJson(top, &out));  // a well-known type at the top is a string
  EXPECT_EQ(*MessageToJson(top), UtilJson(top));
}

}  // namespace
}  // namespace dorset::gateway
