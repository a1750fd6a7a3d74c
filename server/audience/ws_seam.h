// The WebSocket seam of the HTTP server: the web server owns sockets, frames and close codes; a WsHandler
// (the audience hub) owns what the messages mean. Every WsHandler call is on the web thread. Defined here,
// beside its one handler, because web depends on audience and never the other way (the layers, README).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sreda::audience {

// The path and subprotocol served: ws://HOST/ws, Sec-WebSocket-Protocol: sreda.v1.
inline constexpr const char* kWsPath = "/ws";
inline constexpr const char* kWsProtocol = "sreda.v1";

struct WsHandshake {
  std::string origin;
  std::string host;
  std::string peer;  // the client's address (core::client_address: a trusted proxy's X-Forwarded-For/Forwarded)
  std::string cookie;  // the Cookie header (the audience reads its sreda_viewer)
  std::string address_key;      // what per-address limits and bans count under (core::limit_key: IPv6 by /64)
  bool shared_address = false;  // one of server.shared_addresses: limits × server.shared_address_multiplier
};

// What the web server offers the handler.
class WsTransport {
 public:
  virtual ~WsTransport() = default;
  // Web thread: the connection has something to write (its writable callback will call WsHandler::next).
  virtual void wake(uint64_t conn) = 0;
  // Any thread: runs task on the web thread soon (dropped once the server has stopped).
  virtual void run_on_web_thread(std::function<void()> task) = 0;
};

// The frames of one writable callback, framed one after another in one buffer (RFC 6455 server frames:
// unmasked, FIN set), so that one lws_write sends them all: a viewer who is a few frames behind costs one
// send, not one per frame. The buffer belongs to the web server and keeps its capacity between callbacks.
class WsBatch {
 public:
  // headroom: bytes kept free in front (lws writes need LWS_PRE); budget: the most bytes of frames.
  WsBatch(std::string& buffer, size_t headroom, size_t budget) : buffer_(buffer), start_(headroom), budget_(budget) {
    buffer_.assign(headroom, '\0');
  }
  // Appends one text frame unless that would pass the budget; the first frame is always taken.
  bool add(std::string_view text) {
    const size_t head = text.size() < 126 ? 2 : text.size() < 65536 ? 4 : 10;
    if (frames_ > 0 && size() + head + text.size() > budget_) return false;
    char h[10];
    h[0] = static_cast<char>(0x81);  // FIN, text
    if (head == 2) {
      h[1] = static_cast<char>(text.size());
    } else if (head == 4) {
      h[1] = 126;
      h[2] = static_cast<char>(text.size() >> 8);
      h[3] = static_cast<char>(text.size() & 0xff);
    } else {
      h[1] = 127;
      for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<char>((uint64_t{text.size()} >> (56 - 8 * i)) & 0xff);
    }
    buffer_.append(h, head);
    buffer_.append(text);
    ++frames_;
    return true;
  }
  size_t frames() const { return frames_; }
  size_t size() const { return buffer_.size() - start_; }
  // The frames as they go on the wire (after the headroom).
  std::string_view wire() const { return std::string_view(buffer_).substr(start_); }
  char* wire_data() { return buffer_.data() + start_; }

 private:
  std::string& buffer_;
  size_t start_, budget_;
  size_t frames_ = 0;
};

// What a writable callback does besides writing the batch: close the connection (only when the batch is
// empty), and whether more waits for the next writable callback.
struct WsOut {
  int close_code = 0;  // a close (with reason) when non-zero
  std::string close_reason;
  bool more = false;   // more to write after this batch
};

class WsHandler {
 public:
  virtual ~WsHandler() = default;
  virtual void attach(WsTransport* transport) = 0;  // before the server starts; nullptr after it stopped
  // The handshake, before it is answered: nullopt accepts, otherwise the reason it is refused (a metrics
  // label); a refused handshake gets no WebSocket.
  virtual std::optional<std::string> admit(const WsHandshake& handshake) = 0;
  virtual void opened(uint64_t conn, const WsHandshake& handshake) = 0;
  virtual void message(uint64_t conn, std::string_view text) = 0;
  // The server is closing the connection for a frame it would not take ("too_big", "binary").
  virtual void refused_frame(uint64_t conn, const std::string& reason) = 0;
  virtual void closed(uint64_t conn) = 0;
  // In the connection's writable callback: the frames to write now, added to batch (written with one
  // lws_write), or a close.
  virtual WsOut next(uint64_t conn, WsBatch& batch) = 0;
  // About every 100 ms.
  virtual void tick(int64_t now_ms) = 0;
};

}  // namespace sreda::audience
