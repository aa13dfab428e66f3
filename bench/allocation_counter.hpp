#pragma once

#include <cstdint>

// Heap allocations made by the calling thread, counted twice over:
// - `allocations`: calls of operator new (allocation_counter.cpp replaces the global operator
//   new/delete of this program), i.e. what C++ code such as nlohmann/json and the library
//   allocates;
// - `heap_allocations`: calls of malloc/calloc/realloc, which operator new uses too, plus what
//   C libraries allocate on their own, notably OpenSSL for every HMAC.
// Counting per thread keeps the micro-benchmark's figures free of other threads' allocations
// and costs a thread-local increment.
namespace bench {

struct AllocationCount {
  std::uint64_t allocations = 0;
  std::uint64_t bytes = 0;
  std::uint64_t heap_allocations = 0;
};

AllocationCount allocations_on_this_thread();

}  // namespace bench
