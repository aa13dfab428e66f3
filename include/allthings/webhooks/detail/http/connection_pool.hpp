#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

#include "../process/thread_name.hpp"
#include "connection.hpp"
#include "request_head.hpp"
#include "waiting_room.hpp"

// The guarded server's task queue, which cpp-httplib's accept loop hands every connection to:
// worker threads that serve requests whose head is complete, and the waiting room that holds
// connections meanwhile. cpp-httplib creates it when listening starts and shuts it down when
// the accept loop ends.
namespace allthings::webhooks::detail {

// TaskQueue::enqueue returns void up to cpp-httplib 0.14 or so, bool (accepted) later.
using EnqueueResult =
    decltype(std::declval<httplib::TaskQueue&>().enqueue(std::function<void()>()));
template <class R>
R enqueued() {
  return true;
}
template <>
inline void enqueued<void>() {}

class ConnectionPool final : public httplib::TaskQueue {
 public:
  // Serves the request whose head is complete on `connection` (on a worker thread).
  using Serve = std::function<void(std::unique_ptr<Connection>, RequestHead)>;

  ConnectionPool(std::size_t threads, WaitingRoom::Settings room, Serve serve,
                 WaitingRoom::Refuse refuse)
      : serve_(std::move(serve)),
        room_(
            room,
            [this](std::unique_ptr<Connection> connection, RequestHead head) {
              hand_over(std::move(connection), head);
            },
            std::move(refuse)) {
    for (std::size_t i = 0; i < threads; ++i)
      workers_.emplace_back([this] {
        name_this_thread("aw-http");
        work();
      });
  }

  ~ConnectionPool() override { shutdown(); }

  // From cpp-httplib's accept loop: a job that calls process_and_close_socket.
  EnqueueResult enqueue(std::function<void()> job) override {
    push(std::move(job));
    return enqueued<EnqueueResult>();
  }

  // The accept loop ended: stop waiting for clients, let queued jobs finish (their reads fail
  // at once), and join the workers. Idempotent.
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    stop_signal_.wake();  // every read waiting on a client gives up
    room_.stop();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shut_down_ = true;
    }
    jobs_cv_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  // A connection accepted by cpp-httplib; it waits in the room until its head is complete.
  void adopt(std::unique_ptr<Connection> connection) { room_.admit(std::move(connection)); }

  // A connection whose request was answered and that may carry another.
  void keep(std::unique_ptr<Connection> connection) { room_.keep(std::move(connection)); }

  // A connection to close after what the client still sends is drained (see linger()).
  void close(std::unique_ptr<Connection> connection) { room_.linger(std::move(connection)); }

  // Readable once shutdown() began: reads poll it to give up waiting for a client.
  int stop_fd() const { return stop_signal_.read_end(); }

  bool stopping() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stopping_;
  }

  // True when another worker is free to take the next job.
  bool has_idle_worker() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return idle_workers_ > jobs_.size();
  }

 private:
  void hand_over(std::unique_ptr<Connection> connection, RequestHead head) {
    // std::function needs a copyable callable: the connection travels in a shared_ptr.
    auto shared = std::make_shared<std::unique_ptr<Connection>>(std::move(connection));
    push([this, shared, head] { serve_(std::move(*shared), head); });
  }

  void push(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    jobs_cv_.notify_one();
  }

  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ++idle_workers_;
        jobs_cv_.wait(lock, [this] { return shut_down_ || !jobs_.empty(); });
        --idle_workers_;
        if (jobs_.empty()) return;  // shut down and nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      try {
        job();
      } catch (...) {
        // A request's failures are answered inside cpp-httplib; nothing may end a worker.
      }
    }
  }

  const Serve serve_;
  WakePipe stop_signal_;
  mutable std::mutex mutex_;
  std::condition_variable jobs_cv_;
  std::deque<std::function<void()>> jobs_;
  std::size_t idle_workers_ = 0;
  bool stopping_ = false;
  bool shut_down_ = false;
  WaitingRoom room_;  // after what its callbacks use; its thread starts last
  std::vector<std::thread> workers_;
};

}  // namespace allthings::webhooks::detail
