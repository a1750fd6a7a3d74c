// The WebSocket seam of the HTTP server: the web server owns sockets, frames and close codes; a WsHandler
// (the audience hub) owns what the messages mean. Every WsHandler call is on the web thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sreda::web {

// The path and subprotocol served: ws://HOST/ws, Sec-WebSocket-Protocol: sreda.v1.
inline constexpr const char* kWsPath = "/ws";
inline constexpr const char* kWsProtocol = "sreda.v1";

struct WsHandshake {
  std::string origin;
  std::string host;
  std::string peer;  // client address
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

struct WsOut {
  std::shared_ptr<const std::string> frame;  // one text frame to write, or
  int close_code = 0;                        // a close (with reason) when non-zero
  std::string close_reason;
  bool more = false;                         // more to write after this one
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
  // In the connection's writable callback: the one thing to write now.
  virtual WsOut next(uint64_t conn) = 0;
  // About every 100 ms.
  virtual void tick(int64_t now_ms) = 0;
};

}  // namespace sreda::web
