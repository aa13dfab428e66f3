#pragma once

#include <pthread.h>

#include <cstddef>

namespace allthings::webhooks::detail {

// Names the calling thread, as `top -H`, `ps -L`, /proc/<pid>/task/*/comm, gdb and perf show
// it: an operator sees which of the receiver's threads is busy, and the benchmark splits its
// CPU time by them. Linux refuses names over 15 characters, hence the check. Threads started
// from a named thread (by a handler, say) inherit its name. Best effort: where threads have no
// names, or naming fails, the name stays what it was.
template <std::size_t N>
void name_this_thread(const char (&name)[N]) {
  static_assert(N <= 16, "thread names hold at most 15 characters");
#if defined(__linux__)
  ::pthread_setname_np(::pthread_self(), name);
#elif defined(__APPLE__)
  ::pthread_setname_np(name);
#else
  (void)name;
#endif
}

}  // namespace allthings::webhooks::detail
