#include "server/hub/control_clock.h"

#include <boost/asio/steady_timer.hpp>

#include "server/core/clock.h"

namespace sreda::hub {
namespace {

// The steady_timer lives as long as its wait: the handler holds it. `cancelled` stops a callback whose
// expiry was already queued (a steady_timer's cancel() cannot).
class AsioTimer : public Timer {
 public:
  struct State {
    explicit State(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    std::function<void()> callback;
    bool cancelled = false;
  };
  explicit AsioTimer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~AsioTimer() override { cancel(); }
  void cancel() override {
    if (state_->cancelled) return;
    state_->cancelled = true;
    state_->callback = nullptr;
    state_->timer.cancel();
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace

int64_t AsioControlClock::now_ms() const { return core::now_ms(); }

std::unique_ptr<Timer> AsioControlClock::after(int64_t delay_ms, std::function<void()> callback) {
  auto state = std::make_shared<AsioTimer::State>(control_);
  state->callback = std::move(callback);
  state->timer.expires_after(std::chrono::milliseconds(delay_ms));
  state->timer.async_wait([state](const boost::system::error_code& ec) {
    if (ec || state->cancelled) return;
    state->cancelled = true;  // once
    auto callback = std::move(state->callback);
    if (callback) callback();
  });
  return std::make_unique<AsioTimer>(std::move(state));
}

}  // namespace sreda::hub
