// Names for the runtime's own long-lived threads (the group committer's writer and finisher, the
// WAL checkpointer, the audit trail's writer, ...), so that `top -H`, `ps -L`,
// /proc/<pid>/task/*/comm, `perf report --sort comm` and a debugger show which thread is which.
// Without a name every such thread inherits the process's (`dorset-finance`), and a profile of a
// write's threads (issue 16's bench/writer_threads.sh) cannot tell the writer from a gRPC poller.
//
// Linux keeps at most 15 bytes of a name; a longer one is cut there, never refused.
//
//   writer_ = std::thread([this] {
//     NameThisThread("group-writer");
//     WriteLoop();
//   });
#ifndef DORSET_RUNTIME_BASE_THREAD_NAME_H_
#define DORSET_RUNTIME_BASE_THREAD_NAME_H_

#include <string>
#include <string_view>

namespace dorset {

// The most bytes of a thread's name the kernel keeps (TASK_COMM_LEN less its terminator).
inline constexpr size_t kMaxThreadNameBytes = 15;

// Names the calling thread `name`, cut to kMaxThreadNameBytes. Naming is a diagnostic aid: a
// failure (none is expected on Linux for a name this short) is ignored.
void NameThisThread(std::string_view name);

// The calling thread's name as the kernel keeps it ("" if it cannot be read).
std::string ThisThreadName();

}  // namespace dorset

#endif  // DORSET_RUNTIME_BASE_THREAD_NAME_H_
