#include "allocation_counter.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>

// glibc's allocator under its internal names; malloc below forwards to it. Defining malloc,
// calloc, realloc and free in the program is glibc's documented way to replace the allocator.
extern "C" {
void* __libc_malloc(std::size_t size) noexcept;
void* __libc_calloc(std::size_t count, std::size_t size) noexcept;
void* __libc_realloc(void* p, std::size_t size) noexcept;
void __libc_free(void* p) noexcept;
}

namespace {

// Plain thread-locals of the executable: no initialiser, so reading them never allocates.
thread_local std::uint64_t thread_new_calls;
thread_local std::uint64_t thread_new_bytes;
thread_local std::uint64_t thread_heap_calls;

void* counted_new(std::size_t size) {
  ++thread_new_calls;
  thread_new_bytes += size;
  return std::malloc(size == 0 ? 1 : size);
}

void* counted_aligned_new(std::size_t size, std::align_val_t alignment) {
  ++thread_new_calls;
  thread_new_bytes += size;
  const auto align = static_cast<std::size_t>(alignment);
  // aligned_alloc wants a size that is a multiple of the alignment.
  const std::size_t rounded = size == 0 ? align : (size + align - 1) / align * align;
  return std::aligned_alloc(align, rounded);
}

}  // namespace

namespace bench {

AllocationCount allocations_on_this_thread() {
  return {thread_new_calls, thread_new_bytes, thread_heap_calls};
}

}  // namespace bench

extern "C" {

void* malloc(std::size_t size) noexcept {
  ++thread_heap_calls;
  return __libc_malloc(size);
}

void* calloc(std::size_t count, std::size_t size) noexcept {
  ++thread_heap_calls;
  return __libc_calloc(count, size);
}

void* realloc(void* p, std::size_t size) noexcept {
  ++thread_heap_calls;
  return __libc_realloc(p, size);
}

void free(void* p) noexcept { __libc_free(p); }

}  // extern "C"

void* operator new(std::size_t size) {
  if (void* p = counted_new(size)) return p;
  throw std::bad_alloc();
}

void* operator new[](std::size_t size) {
  if (void* p = counted_new(size)) return p;
  throw std::bad_alloc();
}

void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_new(size); }

void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_new(size);
}

void* operator new(std::size_t size, std::align_val_t alignment) {
  if (void* p = counted_aligned_new(size, alignment)) return p;
  throw std::bad_alloc();
}

void* operator new[](std::size_t size, std::align_val_t alignment) {
  if (void* p = counted_aligned_new(size, alignment)) return p;
  throw std::bad_alloc();
}

void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return counted_aligned_new(size, alignment);
}

void* operator new[](std::size_t size, std::align_val_t alignment,
                     const std::nothrow_t&) noexcept {
  return counted_aligned_new(size, alignment);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
