// One accepted RTMP connection: socket + strand + timers around an RtmpSession. Internal to RtmpServer.
// Everything runs on the connection's strand; stop() may be called from any thread (it posts).
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/core/log.h"
#include "server/ingest/rtmp/publish_handler.h"
#include "server/ingest/rtmp/rtmp_server.h"
#include "server/ingest/rtmp/rtmp_session.h"

namespace sreda::ingest::rtmp {

// "ab12…": the first 4 characters of a stream key (fewer for short keys), never the whole key.
std::string mask_key(std::string_view key);

class RtmpConnection : public std::enable_shared_from_this<RtmpConnection> {
 public:
  struct Hooks {  // called on the connection's strand
    std::function<void(SessionId)> on_closed;
    std::function<void(SessionId)> on_publishing;  // the publish was accepted
  };

  RtmpConnection(boost::asio::ip::tcp::socket socket, SessionId id, const RtmpServerOptions& options,
                 PublishHandler& handler, std::shared_ptr<RtmpServerStats> stats, Hooks hooks);

  void start();                   // once, right after construction
  void stop(std::string reason);  // any thread
  SessionId id() const { return id_; }

 private:
  using Clock = std::chrono::steady_clock;

  void do_read();
  void on_read(const boost::system::error_code& ec, size_t n);
  void apply(SessionOutput& out);
  void deliver(FlvTag tag);
  void on_decision(bool ok, const std::string& reason);
  void do_write();
  void arm_timer();
  void on_timer();
  void coalesce_reads();
  void begin_close(std::string reason);  // flush what is queued, then close
  void close(const std::string& reason, const std::string& limit = {});
  void end_publish(const std::string& reason);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  SessionId id_;
  RtmpServerOptions options_;
  PublishHandler& handler_;
  std::shared_ptr<RtmpServerStats> stats_;
  Hooks hooks_;
  core::Logger log_;
  std::string remote_;
  RtmpSession session_;
  std::array<uint8_t, 64 * 1024> read_buf_{};
  std::deque<std::vector<uint8_t>> out_queue_;
  size_t out_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  std::optional<std::string> closing_;  // set: no more reads, close once the queue is flushed
  Clock::time_point closing_since_;
  bool closed_ = false;
  bool publish_open_ = false;        // on_publish called, on_end not yet
  bool publish_requested_ = false;   // asked to publish once (its key was checked)
  bool reached_publishing_ = false;  // accepted once: the publish timeout no longer applies
  bool dropping_ = false;            // consumer full: dropping until the next keyframe
  Clock::time_point started_;
  Clock::time_point last_read_;
  uint64_t tick_bytes_ = 0;  // read since the last tick (the publisher's recent rate)
  int rcvlowat_ = 1;         // SO_RCVLOWAT now
};

}  // namespace sreda::ingest::rtmp
