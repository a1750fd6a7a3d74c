#include "server/ingest/rtmp/rtmp_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <mutex>

#include "server/core/log.h"
#include "server/ingest/rtmp/rtmp_connection.h"

namespace sreda::ingest::rtmp {
namespace asio = boost::asio;
using asio::ip::tcp;

struct RtmpServer::Core : std::enable_shared_from_this<RtmpServer::Core> {
  Core(asio::io_context& io, RtmpServerOptions opts, PublishHandler& h)
      : io(io), options(std::move(opts)), handler(h), acceptor(asio::make_strand(io)), log("rtmp-server") {}

  void accept_next() {
    acceptor.async_accept(
        asio::make_strand(io),
        [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
          self->on_accept(ec, std::move(socket));
        });
  }

  void on_accept(const boost::system::error_code& ec, tcp::socket socket) {
    if (stopped) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      log.warn("accept failed: " + ec.message());
    } else {
      std::unique_lock lock(mutex);
      if (connections.size() >= options.max_connections) {
        lock.unlock();
        ++stats->refused_max_connections;
        boost::system::error_code ignored;
        log.warn("refused a connection: " + std::to_string(options.max_connections) + " connections already");
        socket.close(ignored);
      } else {
        SessionId id = next_id++;
        std::weak_ptr<Core> weak = shared_from_this();
        auto connection = std::make_shared<RtmpConnection>(std::move(socket), id, options, handler, stats,
                                                           [weak](SessionId closed) {
                                                             if (auto core = weak.lock())
                                                               core->forget(closed);
                                                           });
        connections.emplace(id, connection);
        lock.unlock();
        ++stats->accepted;
        connection->start();
      }
    }
    accept_next();
  }

  void forget(SessionId id) {
    std::lock_guard lock(mutex);
    connections.erase(id);
  }

  asio::io_context& io;
  RtmpServerOptions options;
  PublishHandler& handler;
  tcp::acceptor acceptor;
  core::Logger log;
  std::shared_ptr<RtmpServerStats> stats = std::make_shared<RtmpServerStats>();
  std::atomic<uint16_t> port{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  mutable std::mutex mutex;  // guards connections and next_id (acceptor strand vs. stop()/disconnect())
  std::map<SessionId, std::weak_ptr<RtmpConnection>> connections;
  SessionId next_id = 1;
};

RtmpServer::RtmpServer(asio::io_context& io, RtmpServerOptions options, PublishHandler& handler)
    : core_(std::make_shared<Core>(io, std::move(options), handler)) {}

RtmpServer::~RtmpServer() {
  stop();
}

core::Result<void> RtmpServer::start() {
  if (core_->stopped) return core::Error{"rtmp_stopped", "the RTMP server was stopped", {}};
  if (core_->started.exchange(true)) return {};
  const auto& o = core_->options;
  std::string where = o.address + ":" + std::to_string(o.port);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(o.address, ec);
  if (ec) {
    core_->started = false;
    return core::Error{"rtmp_address", "invalid RTMP listen address " + o.address, "rtmp_address"};
  }
  tcp::endpoint endpoint(address, o.port);
  auto& acceptor = core_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) core_->port = acceptor.local_endpoint(ec).port();
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    core_->started = false;
    return core::Error{"rtmp_listen", "cannot listen for RTMP on " + where + ": " + ec.message(),
                       "rtmp_port"};
  }
  core_->log.info("listening on " + o.address + ":" + std::to_string(core_->port.load()));
  asio::post(acceptor.get_executor(), [core = core_] { core->accept_next(); });
  return {};
}

uint16_t RtmpServer::port() const {
  return core_->port;
}

void RtmpServer::stop() {
  if (core_->stopped.exchange(true)) return;
  asio::post(core_->acceptor.get_executor(), [core = core_] {
    boost::system::error_code ignored;
    core->acceptor.close(ignored);
    std::vector<std::shared_ptr<RtmpConnection>> live;
    {
      std::lock_guard lock(core->mutex);
      for (auto& [id, weak] : core->connections) {
        if (auto c = weak.lock()) live.push_back(std::move(c));
      }
    }
    for (auto& c : live) c->stop("server stopping");
    if (core->started) core->log.info("stopped");
  });
}

void RtmpServer::disconnect(SessionId id, std::string reason) {
  std::shared_ptr<RtmpConnection> connection;
  {
    std::lock_guard lock(core_->mutex);
    auto it = core_->connections.find(id);
    if (it != core_->connections.end()) connection = it->second.lock();
  }
  if (connection) connection->stop(std::move(reason));
}

size_t RtmpServer::connection_count() const {
  std::lock_guard lock(core_->mutex);
  return core_->connections.size();
}

const RtmpServerStats& RtmpServer::stats() const {
  return *core_->stats;
}

}  // namespace sreda::ingest::rtmp
