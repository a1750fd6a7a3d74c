// The hub's time: the wall clock (schedule windows, the times stored with each state change, a session's
// lateness) and one-shot timers on the control thread (the reconnect grace, the rate sampler). Injected so
// a test drives the whole lifecycle with a fake clock, grace expiry included, without waiting.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>

namespace sreda::hub {

// A pending timer. Its callback runs once, on the control thread, unless cancel() or the destructor comes
// first — also when the delay has passed and the callback is already queued. Control thread only.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void cancel() = 0;
};

class ControlClock {
 public:
  virtual ~ControlClock() = default;
  // Milliseconds since the Unix epoch, UTC. Any thread.
  virtual int64_t now_ms() const = 0;
  // Runs `callback` on the control thread after `delay_ms`. Control thread.
  virtual std::unique_ptr<Timer> after(int64_t delay_ms, std::function<void()> callback) = 0;
};

// The real one: the system clock, timers on the control thread's executor.
class AsioControlClock : public ControlClock {
 public:
  explicit AsioControlClock(boost::asio::any_io_executor control) : control_(std::move(control)) {}
  int64_t now_ms() const override;
  std::unique_ptr<Timer> after(int64_t delay_ms, std::function<void()> callback) override;

 private:
  boost::asio::any_io_executor control_;
};

}  // namespace sreda::hub
