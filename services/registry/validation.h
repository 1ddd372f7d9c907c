// Checks and normalisation of the registry's values: ODS codes, UK postcodes, dates, names,
// resource names. Shared by the API handlers and the importers so both accept the same data.
#ifndef DORSET_SERVICES_REGISTRY_VALIDATION_H_
#define DORSET_SERVICES_REGISTRY_VALIDATION_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dorset::registry {

inline constexpr int kMaxNameLength = 100;
inline constexpr int kMaxAddressLineLength = 100;
inline constexpr int kMaxAddressLines = 5;
inline constexpr int kMaxTelephoneLength = 20;

// A practice's ODS code: a letter and five digits (J81016, Y01262), or three letters and
// three digits for the Crown Dependencies (JER004, GUE010, ALD200).
bool IsPracticeCode(std::string_view code);
// A commissioner / ICB / region code: 3 to 5 upper-case letters and digits ("11J", "QVV").
bool IsOrganisationCode(std::string_view code);

// A UK postcode in any case and spacing ("bh229hb", "BH22 9HB"), returned upper case with
// one space before the inward code; nullopt when it is not a postcode.
std::optional<std::string> NormalizePostcode(std::string_view postcode);
// The postcode without spaces, the key used for prefix search.
std::string PostcodeKey(std::string_view postcode);

// "YYYYMMDD" (ODS files) to "YYYY-MM-DD"; nullopt for anything that is not a real date.
std::optional<std::string> OdsDateToIso(std::string_view yyyymmdd);
// True for a real calendar date "YYYY-MM-DD".
bool IsIsoDate(std::string_view date);
// "01JAN2021" (list-size files) to "2021-01-01".
std::optional<std::string> DayMonthYearToIso(std::string_view ddmonyyyy);

// A display name: valid UTF-8, 1..kMaxNameLength characters (code points), no control
// characters, not blank.
bool IsGoodName(std::string_view name);
// A locality or cluster id: lower-case letters, digits and '-', 1..63, starting alnum.
bool IsSlug(std::string_view id);
// Telephone: digits, spaces, '+', '(', ')', '-' up to kMaxTelephoneLength.
bool IsTelephone(std::string_view telephone);

// Splits "practices/J81016" into "J81016" when the collection matches and the id is
// non-empty; otherwise nullopt.
std::optional<std::string> IdFromName(std::string_view name, std::string_view collection);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_VALIDATION_H_
