// The retention job on a timer (retention_timer.h).
#include "services/engagement/domain/retention_timer.h"

#include "runtime/logging/log.h"

namespace dorset::engagement {

RetentionTimer::RetentionTimer(Retention& retention, absl::Duration interval)
    : retention_(retention), interval_(interval), thread_([this] { Loop(); }) {}

void RetentionTimer::Stop() {
  if (!stop_.HasBeenNotified()) {
    stopping_.store(true);
    stop_.Notify();
  }
  if (thread_.joinable()) thread_.join();
}

void RetentionTimer::Loop() {
  runtime::Caller caller;
  caller.principal = kPrincipal;
  caller.roles = {"admin"};
  do {
    v1::RetentionRun run;
    const absl::Status status = retention_.RunUnless(caller, {}, &run, &stopping_);
    if (!status.ok()) {
      // The database may be away; the next round tries again.
      runtime::log::Warn("retention run failed", {{"error", status.ToString()}});
    } else if (run.ran()) {
      runs_.fetch_add(1);
      if (run.erased_stakeholders_size() > 0) {
        runtime::log::Info("retention erased stakeholders",
                           {{"erased", run.erased_stakeholders_size()}});
      }
    }
    rounds_.fetch_add(1);
  } while (!stop_.WaitForNotificationWithTimeout(interval_));
}

}  // namespace dorset::engagement
