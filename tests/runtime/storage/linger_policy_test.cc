// The group committer's linger policy (runtime/storage/linger_policy.h), on a fake clock: a
// sequential writer's groups of one never make it linger; a larger group seen lately does, up to
// that group's size; lingers that catch nothing stop it except for a probe now and then; it never
// lingers when off or when enough jobs are queued.
#include "runtime/storage/linger_policy.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace dorset::runtime::storage {
namespace {

constexpr size_t kMaxGroup = 4096;

LingerOptions On() {
  return {.max_linger = absl::Milliseconds(2),
          .few = 8,
          .window = 16,
          .probe_interval = absl::Milliseconds(250)};
}

TEST(LingerPolicy, GroupsOfOneNeverLinger) {
  LingerPolicy policy(On());
  absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(policy.Decide(1, kMaxGroup, now).linger) << i;
    policy.Took(1);
    now += absl::Seconds(1);  // probes are due, but nothing says anyone else writes
  }
  EXPECT_EQ(policy.remembered(), 0u);
}

TEST(LingerPolicy, ALargerGroupSeenLatelyMakesItLingerUpToThatSize) {
  LingerPolicy policy(On());
  const absl::Time now = absl::UnixEpoch();
  policy.Took(1);
  policy.Took(3);
  policy.Took(1);
  LingerPolicy::Decision decision = policy.Decide(1, kMaxGroup, now);
  EXPECT_TRUE(decision.linger);
  EXPECT_EQ(decision.until, 3u);
  EXPECT_EQ(decision.bound, absl::Milliseconds(2));
  // Already as many queued as that group: start at once.
  EXPECT_FALSE(policy.Decide(3, kMaxGroup, now).linger);
  EXPECT_FALSE(policy.Decide(5, kMaxGroup, now).linger);
  // The target never passes max_group.
  EXPECT_FALSE(policy.Decide(2, 2, now).linger);
  decision = policy.Decide(1, 2, now);
  EXPECT_TRUE(decision.linger);
  EXPECT_EQ(decision.until, 2u);
}

TEST(LingerPolicy, OldGroupsAreForgotten) {
  LingerPolicy policy(On());
  const absl::Time now = absl::UnixEpoch();
  policy.Took(6);
  for (int i = 0; i < 15; ++i) policy.Took(1);
  EXPECT_TRUE(policy.Decide(1, kMaxGroup, now).linger);  // the 6 is one of the last 16
  policy.Took(1);
  EXPECT_FALSE(policy.Decide(1, kMaxGroup, now).linger);  // now it is not
}

TEST(LingerPolicy, NeverWhenOffOrWhenEnoughAreQueued) {
  LingerOptions off = On();
  off.max_linger = absl::ZeroDuration();
  LingerPolicy none(off);
  LingerPolicy policy(On());
  for (int i = 0; i < 4; ++i) {
    none.Took(100);
    policy.Took(100);
  }
  const absl::Time now = absl::UnixEpoch();
  EXPECT_FALSE(none.Decide(1, kMaxGroup, now).linger);
  EXPECT_TRUE(policy.Decide(7, kMaxGroup, now).linger);
  EXPECT_FALSE(policy.Decide(8, kMaxGroup, now).linger);  // not "few"
  EXPECT_FALSE(policy.Decide(50, kMaxGroup, now).linger);
}

TEST(LingerPolicy, LingersThatCatchNothingStopItButForProbes) {
  LingerPolicy policy(On());
  absl::Time now = absl::UnixEpoch();
  policy.Took(4);
  // Lingers that catch nothing, 1 ms apart: allowed while at least half of those remembered
  // caught a job (none remembered counts as paying).
  ASSERT_TRUE(policy.Decide(1, kMaxGroup, now).linger);
  policy.Lingered(2);  // caught two
  int lingers = 0;
  for (int i = 0; i < 50; ++i) {
    now += absl::Milliseconds(1);
    if (policy.Decide(1, kMaxGroup, now).linger) {
      ++lingers;
      policy.Lingered(0);
    }
  }
  // 1 caught and 1 missed pays; the second miss makes it 1 of 3: it stops.
  EXPECT_EQ(lingers, 2);
  EXPECT_FALSE(policy.pays());
  // A probe once probe_interval has passed since the last linger, and not before.
  const absl::Time last = absl::UnixEpoch() + absl::Milliseconds(2);
  now = last + absl::Milliseconds(249);
  EXPECT_FALSE(policy.Decide(1, kMaxGroup, now).linger);
  now = last + absl::Milliseconds(250);
  ASSERT_TRUE(policy.Decide(1, kMaxGroup, now).linger);
  policy.Lingered(0);  // the probe caught nothing: 1 of 4
  now += absl::Milliseconds(1);
  EXPECT_FALSE(policy.Decide(1, kMaxGroup, now).linger);
  now += absl::Milliseconds(250);
  ASSERT_TRUE(policy.Decide(1, kMaxGroup, now).linger);
  policy.Lingered(1);  // 2 of 5
  now += absl::Milliseconds(250);
  ASSERT_TRUE(policy.Decide(1, kMaxGroup, now).linger);
  policy.Lingered(3);  // 3 of 6: pays again, so no wait for the next probe
  EXPECT_TRUE(policy.pays());
  now += absl::Milliseconds(1);
  EXPECT_TRUE(policy.Decide(1, kMaxGroup, now).linger);
}

TEST(LingerPolicy, TheSuccessRateRemembersOnlyTheWindow) {
  LingerOptions options = On();
  options.window = 4;
  LingerPolicy policy(options);
  for (int i = 0; i < 4; ++i) policy.Lingered(0);
  EXPECT_EQ(policy.remembered(), 4u);
  EXPECT_FALSE(policy.pays());
  policy.Lingered(1);
  policy.Lingered(1);
  EXPECT_EQ(policy.remembered(), 4u);
  EXPECT_EQ(policy.caught_recently(), 2u);
  EXPECT_TRUE(policy.pays());
  for (int i = 0; i < 4; ++i) policy.Lingered(0);
  EXPECT_EQ(policy.caught_recently(), 0u);
}

}  // namespace
}  // namespace dorset::runtime::storage
