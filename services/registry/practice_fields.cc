#include "services/registry/practice_fields.h"

#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace dorset::registry {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Reflection;

const FieldDescriptor* Field(std::string_view name) {
  return v1::Practice::descriptor()->FindFieldByName(std::string(name));
}

bool SameField(const v1::Practice& a, const v1::Practice& b, const FieldDescriptor* f) {
  const Reflection* r = a.GetReflection();
  if (f->is_repeated()) {
    const int n = r->FieldSize(a, f);
    if (n != r->FieldSize(b, f)) return false;
    for (int i = 0; i < n; ++i) {
      if (r->GetRepeatedString(a, f, i) != r->GetRepeatedString(b, f, i)) return false;
    }
    return true;
  }
  if (f->has_presence() && r->HasField(a, f) != r->HasField(b, f)) return false;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(a, f) == r->GetString(b, f);
    case FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(a, f) == r->GetInt32(b, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return r->GetInt64(a, f) == r->GetInt64(b, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(a, f) == r->GetBool(b, f);
    case FieldDescriptor::CPPTYPE_ENUM:
      return r->GetEnumValue(a, f) == r->GetEnumValue(b, f);
    default:
      return false;  // not used for Practice's compared fields
  }
}

}  // namespace

const std::vector<std::string>& OdsFields() {
  static const auto* fields = new std::vector<std::string>{"display_name",
                                                           "address_lines",
                                                           "postcode",
                                                           "status",
                                                           "open_date",
                                                           "close_date",
                                                           "prescribing_setting",
                                                           "commissioner",
                                                           "icb",
                                                           "region",
                                                           "telephone",
                                                           "organisation_sub_type",
                                                           "provider_purchaser",
                                                           "join_provider_date",
                                                           "left_provider_date",
                                                           "amended_record"};
  return *fields;
}

const std::vector<std::string>& UpdatableFields() {
  static const auto* fields = new std::vector<std::string>{
      "display_name", "address_lines", "postcode",       "telephone", "prescribing_setting",
      "locality",     "list_size",     "list_size_date", "status",    "icb",
      "region",       "commissioner"};
  return *fields;
}

std::vector<std::string> DiffFields(const v1::Practice& a, const v1::Practice& b,
                                    const std::vector<std::string>& fields) {
  std::vector<std::string> changed;
  for (const std::string& name : fields) {
    if (!SameField(a, b, Field(name))) changed.push_back(name);
  }
  return changed;
}

void CopyFields(const v1::Practice& from, v1::Practice& to,
                const std::vector<std::string>& fields) {
  const Reflection* r = from.GetReflection();
  for (const std::string& name : fields) {
    const FieldDescriptor* f = Field(name);
    r->ClearField(&to, f);
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(from, f); ++i) {
        r->AddString(&to, f, r->GetRepeatedString(from, f, i));
      }
      continue;
    }
    if (f->has_presence() && !r->HasField(from, f)) continue;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(&to, f, r->GetString(from, f));
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(&to, f, r->GetInt32(from, f));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(&to, f, r->GetInt64(from, f));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(&to, f, r->GetBool(from, f));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(&to, f, r->GetEnumValue(from, f));
        break;
      default:
        break;
    }
  }
}

std::string_view StatusLetter(v1::Practice::Status status) {
  switch (status) {
    case v1::Practice::STATUS_ACTIVE:
      return "A";
    case v1::Practice::STATUS_CLOSED:
      return "C";
    case v1::Practice::STATUS_DORMANT:
      return "D";
    case v1::Practice::STATUS_PROPOSED:
      return "P";
    default:
      return "?";
  }
}

}  // namespace dorset::registry
