// Helpers shared by the finance tests: building postings, reading error details.
#ifndef DORSET_TESTS_FINANCE_FINANCE_TEST_UTIL_H_
#define DORSET_TESTS_FINANCE_FINANCE_TEST_UTIL_H_

#include <string>

#include "dorset/finance/v1/finance.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace dorset::finance::testing {

v1::Posting MakePosting(const std::string& scheme, const std::string& year, int month,
                        v1::PostingKind kind, int64_t pence, const std::string& reason = "");
v1::Posting Reversal(const std::string& original, const std::string& reason);

// The first BadRequest field violation's field path ("" when there is none).
std::string ViolationField(const grpc::Status& status);
// The first PreconditionFailure violation's "type subject" ("" when there is none).
std::string PreconditionSubject(const grpc::Status& status);
// The ErrorInfo reason ("" when there is none).
std::string ErrorReason(const grpc::Status& status);

}  // namespace dorset::finance::testing

#endif  // DORSET_TESTS_FINANCE_FINANCE_TEST_UTIL_H_
