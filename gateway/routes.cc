// Builds the route table from google.api.http options and looks up requests in it.
#include "gateway/routes.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"
#include "runtime/status/errors.h"

namespace dorset::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

// `backend`/`scope`: see Route; an empty scope routes the binding as written.
absl::Status AddRule(const MethodDescriptor* method, const google::api::HttpRule& rule,
                     const std::string& backend, const std::string& scope,
                     std::vector<Route>& routes) {
  const auto where = [&] { return absl::StrCat(method->full_name(), ": "); };
  Route route;
  route.method = method;
  route.backend = backend;
  route.scope = scope;
  std::string path;
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      route.http_method = "GET";
      path = rule.get();
      break;
    case google::api::HttpRule::kPut:
      route.http_method = "PUT";
      path = rule.put();
      break;
    case google::api::HttpRule::kPost:
      route.http_method = "POST";
      path = rule.post();
      break;
    case google::api::HttpRule::kDelete:
      route.http_method = "DELETE";
      path = rule.delete_();
      break;
    case google::api::HttpRule::kPatch:
      route.http_method = "PATCH";
      path = rule.patch();
      break;
    case google::api::HttpRule::kCustom:
      route.http_method = rule.custom().kind();
      path = rule.custom().path();
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(where(), "http rule without a pattern"));
  }
  if (!scope.empty()) {
    // After the version segment: "/v1/auditEvents" -> "/v1/registry/auditEvents".
    const size_t second = path.find('/', 1);
    if (path.empty() || path[0] != '/' || second == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "a per-process binding needs a version segment: ", path));
    }
    path.insert(second, "/" + scope);
  }
  absl::StatusOr<PathTemplate> parsed = PathTemplate::Parse(path);
  if (!parsed.ok())
    return absl::InvalidArgumentError(where() + std::string(parsed.status().message()));
  route.path = *std::move(parsed);
  for (const PathTemplate::Variable& variable : route.path.variables()) {
    if (absl::Status s = CheckFieldPath(method->input_type(), variable.field_path); !s.ok()) {
      return absl::InvalidArgumentError(where() + std::string(s.message()));
    }
  }
  route.body = rule.body();
  if (!route.body.empty() && route.body != "*" &&
      method->input_type()->FindFieldByName(route.body) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where(), "body field ", route.body, " not in ",
                                                   method->input_type()->full_name()));
  }
  route.response_body = rule.response_body();
  if (!route.response_body.empty() &&
      method->output_type()->FindFieldByName(route.response_body) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where(), "response_body field ",
                                                   route.response_body, " not in ",
                                                   method->output_type()->full_name()));
  }
  routes.push_back(std::move(route));
  return absl::OkStatus();
}

}  // namespace

std::string Route::GrpcPath() const {
  return absl::StrCat("/", method->service()->full_name(), "/", method->name());
}

absl::Status CheckFieldPath(const Descriptor* message, const std::vector<std::string>& path) {
  for (size_t i = 0; i < path.size(); ++i) {
    const FieldDescriptor* field = message->FindFieldByName(path[i]);
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", absl::StrJoin(path, "."), " not in ", message->full_name()));
    }
    if (i + 1 < path.size()) {
      if (field->is_repeated() || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(absl::StrCat("field ", absl::StrJoin(path, "."), ": ",
                                                       path[i], " is not a singular message"));
      }
      message = field->message_type();
    }
  }
  return absl::OkStatus();
}

const std::vector<std::string>& PerBackendServices() {
  static const std::vector<std::string> kServices = {"dorset.common.v1.AuditService"};
  return kServices;
}

std::string BackendScope(const std::string& service) {
  const std::vector<std::string> parts = absl::StrSplit(service, '.');
  return parts.size() >= 3 ? parts[1] : absl::AsciiStrToLower(service);
}

absl::StatusOr<RouteTable> RouteTable::Build(const google::protobuf::DescriptorPool& pool,
                                             const std::vector<std::string>& services,
                                             const std::vector<std::string>& per_backend) {
  RouteTable table;
  // Every binding of `name`'s methods, going to `backend` under `scope`.
  const auto add_service = [&](const std::string& name, const std::string& backend,
                               const std::string& scope) -> absl::Status {
    const google::protobuf::ServiceDescriptor* service = pool.FindServiceByName(name);
    if (service == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("service ", name, " is not compiled in"));
    }
    for (int m = 0; m < service->method_count(); ++m) {
      const MethodDescriptor* method = service->method(m);
      if (!method->options().HasExtension(google::api::http)) continue;
      const google::api::HttpRule& rule = method->options().GetExtension(google::api::http);
      if (absl::Status s = AddRule(method, rule, backend, scope, table.routes_); !s.ok()) return s;
      for (const google::api::HttpRule& extra : rule.additional_bindings()) {
        if (absl::Status s = AddRule(method, extra, backend, scope, table.routes_); !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  };
  for (const std::string& name : services) {
    if (absl::Status s = add_service(name, name, ""); !s.ok()) return s;
    for (const std::string& shared : per_backend) {
      if (absl::Status s = add_service(shared, name, BackendScope(name)); !s.ok()) return s;
    }
  }
  // A verb or a literal beats a wildcard: "/v1/{name=practices/*}:close" is tried before
  // "/v1/{name=practices/*}", whose '*' would otherwise swallow ":close".
  std::stable_sort(table.routes_.begin(), table.routes_.end(), [](const Route& a, const Route& b) {
    const bool a_verb = !a.path.verb().empty();
    const bool b_verb = !b.path.verb().empty();
    if (a_verb != b_verb) return a_verb;
    return a.path.LiteralCount() > b.path.LiteralCount();
  });
  return table;
}

absl::StatusOr<RouteMatch> RouteTable::Find(std::string_view http_method,
                                            std::string_view path) const {
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    std::optional<std::vector<Binding>> bindings = route.path.Match(path);
    if (!bindings) continue;
    if (route.http_method != http_method) {
      if (std::find(allowed.begin(), allowed.end(), route.http_method) == allowed.end()) {
        allowed.push_back(route.http_method);
      }
      continue;
    }
    return RouteMatch{&route, *std::move(bindings)};
  }
  if (!allowed.empty()) {
    return runtime::WithReason(absl::InvalidArgumentError(absl::StrCat(
                                   "method ", std::string(http_method),
                                   " not allowed here; allowed: ", absl::StrJoin(allowed, ", "))),
                               "HTTP_METHOD_NOT_ALLOWED");
  }
  return runtime::WithReason(
      absl::NotFoundError(absl::StrCat("no API operation matches the path ", std::string(path))),
      "HTTP_ROUTE_NOT_FOUND");
}

}  // namespace dorset::gateway
