// The runtime's thread names: set on the calling thread only, seen by the kernel (what `top -H`
// and /proc/<pid>/task/*/comm show), and cut at the kernel's 15 bytes rather than refused.
#include "runtime/base/thread_name.h"

#include <string>
#include <string_view>
#include <thread>

#include "gtest/gtest.h"

namespace dorset {
namespace {

// The name a new thread reads back after naming itself `name`.
std::string NameSeenByANewThreadNamed(std::string_view name) {
  std::string seen;
  std::thread thread([&] {
    NameThisThread(name);
    seen = ThisThreadName();
  });
  thread.join();
  return seen;
}

TEST(ThreadName, NamesOnlyTheCallingThread) {
  const std::string before = ThisThreadName();
  EXPECT_EQ(NameSeenByANewThreadNamed("group-writer"), "group-writer");
  EXPECT_EQ(ThisThreadName(), before);
}

TEST(ThreadName, ALongNameIsCutToTheKernelsLimit) {
  const std::string seen = NameSeenByANewThreadNamed("a-name-longer-than-fifteen-bytes");
  EXPECT_EQ(seen, "a-name-longer-t");
  EXPECT_EQ(seen.size(), kMaxThreadNameBytes);
}

}  // namespace
}  // namespace dorset
