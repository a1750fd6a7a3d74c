#include "server/ingest/rtmp/rtmp_connection.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cstdlib>

namespace sreda::ingest::rtmp {
namespace asio = boost::asio;
namespace {

constexpr auto kTick = std::chrono::milliseconds(200);
constexpr auto kFlushGrace = std::chrono::seconds(2);
// Read coalescing while publishing (see coalesce_reads): wake for this much of the publisher's recent rate.
constexpr int64_t kCoalesceMs = 100;
constexpr int kMinRcvLowat = 4 * 1024;  // below this (a low-rate stream) every byte wakes the thread
constexpr int kMaxRcvLowat = 64 * 1024;

std::string endpoint_text(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// What a session limit was, for its log line: the config key, or which built-in limit.
std::string limit_note(const std::string& limit, bool publishing) {
  if (limit == "command_bytes" || limit == "amf0" || (limit == "message_bytes" && !publishing))
    return "ingest.max_command_bytes";
  return std::string(publishing ? "limit " : "limit before publishing ") + limit;
}

}  // namespace

std::string mask_key(std::string_view key) {
  size_t shown = std::min<size_t>(4, key.size() / 2);
  return std::string(key.substr(0, shown)) + "\u2026";
}

RtmpConnection::RtmpConnection(asio::ip::tcp::socket socket, SessionId id, const RtmpServerOptions& options,
                               PublishHandler& handler, std::shared_ptr<RtmpServerStats> stats, Hooks hooks)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      id_(id),
      options_(options),
      handler_(handler),
      stats_(std::move(stats)),
      hooks_(std::move(hooks)),
      log_("rtmp " + endpoint_text(socket_)),
      remote_(endpoint_text(socket_)),
      session_(options.session) {}

void RtmpConnection::start() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->started_ = self->last_read_ = Clock::now();
    self->log_.debug("connected");
    boost::system::error_code ec;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    self->do_read();
    self->arm_timer();
  });
}

void RtmpConnection::stop(std::string reason) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), reason = std::move(reason)] { self->close(reason); });
}

void RtmpConnection::do_read() {
  if (closed_ || closing_ || reading_) return;
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(read_buf_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->on_read(ec, n); });
}

void RtmpConnection::on_read(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == asio::error::eof) return close("peer closed the connection");
    if (ec == asio::error::operation_aborted) return close("aborted");
    return close("read error: " + ec.message());
  }
  if (closing_) return;
  last_read_ = Clock::now();
  tick_bytes_ += n;
  stats_->bytes_in += n;
  SessionOutput out;
  session_.feed(std::span<const uint8_t>(read_buf_.data(), n), out);
  apply(out);
  do_read();
}

void RtmpConnection::apply(SessionOutput& out) {
  if (closed_) return;
  if (!out.send.empty()) {
    if (out_bytes_ + out.send.size() > options_.max_outgoing_bytes) return close("outgoing queue overflow");
    out_bytes_ += out.send.size();
    out_queue_.push_back(std::move(out.send));
    do_write();
  }
  for (auto& event : out.events) {
    if (closed_) return;
    if (auto* request = std::get_if<PublishRequest>(&event)) {
      request->remote_address = remote_;
      log_ = core::Logger("rtmp " + remote_ + " key=" + mask_key(request->stream_key));
      log_.info("publish requested: app=" + request->app.substr(0, 64));
      publish_open_ = true;
      publish_requested_ = true;
      auto once = std::make_shared<std::atomic<bool>>(false);
      std::weak_ptr<RtmpConnection> weak = shared_from_this();
      auto executor = socket_.get_executor();
      handler_.on_publish(
          id_, *request,
          [weak, executor, once](bool ok, std::string reason) {
            if (once->exchange(true)) return;
            asio::post(executor, [weak, ok, reason = std::move(reason)] {
              if (auto self = weak.lock()) self->on_decision(ok, reason);
            });
          },
          [weak](std::string reason) {
            if (auto self = weak.lock()) self->stop(std::move(reason));
          });
    } else if (auto* tag = std::get_if<FlvTag>(&event)) {
      deliver(std::move(*tag));
    } else if (auto* end = std::get_if<Unpublished>(&event)) {
      log_.info("unpublished: " + end->reason);
      end_publish(end->reason);
    }
  }
  if (out.close && !closed_) {
    if (!out.limit.empty()) return close(*out.close + " (" + limit_note(out.limit, reached_publishing_) + ")", out.limit);
    begin_close(*out.close);
  }
}

void RtmpConnection::deliver(FlvTag tag) {
  bool always = tag.type == FlvTag::script || tag.sequence_header;
  if (dropping_ && !always) {
    if (tag.type == FlvTag::video && tag.keyframe) {
      dropping_ = false;
      log_.info("consumer caught up: resuming at a keyframe");
    } else {
      ++stats_->tags_dropped;
      return;
    }
  }
  if (handler_.on_flv_tag(id_, std::move(tag))) {
    ++stats_->tags_out;
    return;
  }
  ++stats_->tags_dropped;
  if (!dropping_ && !always) {
    dropping_ = true;
    log_.warn("consumer queue full: dropping until the next keyframe");
  }
}

void RtmpConnection::on_decision(bool ok, const std::string& reason) {
  if (closed_ || session_.state() != RtmpSession::State::publish_pending) return;
  SessionOutput out;
  if (ok) {
    session_.accept(out);
    reached_publishing_ = true;
    if (hooks_.on_publishing) hooks_.on_publishing(id_);
    log_.info("publish accepted");
  } else {
    session_.reject(reason, out);
    log_.info("publish rejected: " + reason);
  }
  apply(out);
}

void RtmpConnection::do_write() {
  if (writing_ || out_queue_.empty() || closed_) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_queue_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) return self->close("write error: " + ec.message());
                      self->out_bytes_ -= self->out_queue_.front().size();
                      self->out_queue_.pop_front();
                      if (!self->out_queue_.empty()) return self->do_write();
                      if (self->closing_) self->close(*self->closing_);
                    });
}

void RtmpConnection::arm_timer() {
  if (closed_) return;
  timer_.expires_after(kTick);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->on_timer();
  });
}

void RtmpConnection::on_timer() {
  if (closed_) return;
  auto now = Clock::now();
  if (closing_) {
    if (now - closing_since_ > kFlushGrace) return close(*closing_);
  } else if (!session_.handshake_done() && now - started_ > options_.handshake_timeout) {
    return close("handshake timeout", "auth_timeout");
  } else if (!reached_publishing_ && now - started_ > options_.publish_timeout) {
    return close("no publish within " + std::to_string(options_.publish_timeout.count()) +
                     " ms (ingest.auth_timeout_s)",
                 "auth_timeout");
  } else if (now - last_read_ > options_.idle_timeout) {
    return close("idle timeout");
  }
  if (publish_open_ && reached_publishing_) coalesce_reads();
  arm_timer();
}

// Each wake-up of the ingest thread costs more than the bytes it reads, and publishers write every
// frame on its own (an AAC frame is a few hundred bytes). While publishing, the kernel wakes us only once
// kCoalesceMs worth of the publisher's rate over the last tick is waiting (SO_RCVLOWAT; EOF and errors
// still wake at once). A tick with no read at all sets it back to 1 byte, so a publisher that pauses or
// slows down never has media held back longer than one tick (kTick).
void RtmpConnection::coalesce_reads() {
  const uint64_t bytes_per_s = tick_bytes_ * 1000 / static_cast<uint64_t>(kTick.count());
  tick_bytes_ = 0;
  int target = static_cast<int>(std::min<uint64_t>(bytes_per_s * kCoalesceMs / 1000, kMaxRcvLowat));
  if (target < kMinRcvLowat) target = 1;
  const bool small_change = target > 1 && rcvlowat_ > 1 && std::abs(target - rcvlowat_) * 4 < rcvlowat_;
  if (target == rcvlowat_ || small_change) return;
  boost::system::error_code ec;
  socket_.set_option(asio::socket_base::receive_low_watermark(target), ec);
  if (!ec) rcvlowat_ = target;
}

void RtmpConnection::begin_close(std::string reason) {
  if (closed_ || closing_) return;
  closing_ = std::move(reason);
  closing_since_ = Clock::now();
  if (out_queue_.empty() && !writing_) close(*closing_);
}

void RtmpConnection::end_publish(const std::string& reason) {
  if (!publish_open_) return;
  publish_open_ = false;
  dropping_ = false;
  handler_.on_end(id_, reason);
}

void RtmpConnection::close(const std::string& reason, const std::string& limit) {
  if (closed_) return;
  closed_ = true;
  if (!limit.empty()) handler_.on_limit(limit);
  end_publish(reason);
  boost::system::error_code ignored;
  timer_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  std::string stats = "bytes_in=" + std::to_string(session_.bytes_received());
  if (session_.handshake_done())
    stats += session_.used_digest_handshake() ? " handshake=digest" : " handshake=plain";
  if (session_.dropped_media_messages() > 0)
    stats += " dropped_before_accept=" + std::to_string(session_.dropped_media_messages());
  std::string line = "closed: " + reason + " (" + stats + ")";
  uint64_t held_back = 0;
  if (publish_requested_ || (!limit.empty() && limit != "auth_timeout")) {
    log_.info(line);
  } else if (stats_->keyless_closes.allow(held_back)) {  // never asked to publish: a scan or a flood
    log_.info(line + (held_back ? "; and " + std::to_string(held_back) +
                                      " more connections that never asked to publish since the last such line"
                                : ""));
  } else {
    log_.debug(line);
  }
  if (hooks_.on_closed) hooks_.on_closed(id_);
}

}  // namespace sreda::ingest::rtmp
