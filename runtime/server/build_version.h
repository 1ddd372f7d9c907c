// The build's version, as every service reports it on its ops port (GET /version): the CMake
// project version and the git commit the build was configured at, e.g. "0.1.0+30f126f1a2b3",
// or "0.1.0+unknown" when the source was not a git checkout (runtime/CMakeLists.txt).
#ifndef DORSET_RUNTIME_SERVER_BUILD_VERSION_H_
#define DORSET_RUNTIME_SERVER_BUILD_VERSION_H_

#include <string_view>

namespace dorset::runtime {

std::string_view BuildVersion();

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_BUILD_VERSION_H_
