// The runtime's thread names: set on the calling thread only, seen by the kernel (what `top -H`
// and /proc/<pid>/task/*/comm show), and cut at the kernel's 15 bytes rather than refused.
#include "runtime/base/thread_name.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace dorset {
namespace {

TEST(ThreadName, NamesOnlyTheCallingThread) {
  const std::string before = ThisThreadName();
  std::string inside;
  std::thread thread([&] {
    NameThisThread("group-writer");
    inside = ThisThreadName();
  });
  thread.join();
  EXPECT_EQ(inside, "group-writer");
  EXPECT_EQ(ThisThreadName(), before);
}

TEST(ThreadName, ALongNameIsCutToTheKernelsLimit) {
  std::string inside;
  std::thread thread([&] {
    NameThisThread("a-name-longer-than-fifteen-bytes");
    inside = ThisThreadName();
  });
  thread.join();
  EXPECT_EQ(inside, "a-name-longer-t");
  EXPECT_EQ(inside.size(), kMaxThreadNameBytes);
}

}  // namespace
}  // namespace dorset
