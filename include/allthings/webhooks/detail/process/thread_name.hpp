#pragma once

#include <pthread.h>

namespace allthings::webhooks::detail {

// Names the calling thread, as `top -H`, `ps -L`, /proc/<pid>/task/*/comm, gdb and perf show
// it: an operator sees which of the receiver's threads is busy, and the benchmark splits its
// CPU time by them. Linux keeps 15 characters. Best effort: where threads have no names, or
// naming fails, the thread keeps the process's name.
inline void name_this_thread(const char* name) {
#if defined(__linux__)
  ::pthread_setname_np(::pthread_self(), name);
#elif defined(__APPLE__)
  ::pthread_setname_np(name);
#else
  (void)name;
#endif
}

}  // namespace allthings::webhooks::detail
