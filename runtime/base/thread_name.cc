#include "runtime/base/thread_name.h"

#include <pthread.h>

#include <algorithm>

namespace dorset {

void NameThisThread(std::string_view name) {
  std::string cut(name.substr(0, std::min(name.size(), kMaxThreadNameBytes)));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

std::string ThisThreadName() {
  char buffer[kMaxThreadNameBytes + 1] = {};
  if (pthread_getname_np(pthread_self(), buffer, sizeof buffer) != 0) return "";
  return buffer;
}

}  // namespace dorset
