#include "server/ingest/rtmp/rtmp_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

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
      admit(std::move(socket));
    }
    accept_next();
  }

  // Per-address and total caps; when full, the oldest connection that is not publishing makes room.
  void admit(tcp::socket socket) {
    boost::system::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    if (ec) return;  // gone already
    const std::string address = endpoint.address().to_string();
    std::shared_ptr<RtmpConnection> victim;
    std::unique_lock lock(mutex);
    if (per_address[address] >= options.max_connections_per_address &&
        !options.uncapped_addresses.contains(endpoint.address())) {
      lock.unlock();
      ++stats->refused_per_address;
      return refuse(std::move(socket), "connections_per_address",
                    address + " has " + std::to_string(options.max_connections_per_address) +
                        " connections already (ingest.max_connections_per_address)");
    }
    if (connections.size() >= options.max_connections) {
      auto oldest = connections.end();
      for (auto it = connections.begin(); it != connections.end(); ++it) {  // ids grow with time
        if (!it->second.publishing) {
          oldest = it;
          break;
        }
      }
      if (oldest == connections.end()) {
        lock.unlock();
        ++stats->refused_max_connections;
        return refuse(std::move(socket), "connections",
                      std::to_string(options.max_connections) + " publishers already (ingest.max_publishers)");
      }
      victim = oldest->second.connection.lock();
      forget_locked(oldest->first);  // its slot is the new connection's from now on
    }
    SessionId id = next_id++;
    std::weak_ptr<Core> weak = shared_from_this();
    RtmpConnection::Hooks hooks;
    hooks.on_closed = [weak](SessionId closed) {
      if (auto core = weak.lock()) core->forget(closed);
    };
    hooks.on_publishing = [weak](SessionId publishing) {
      if (auto core = weak.lock()) core->mark_publishing(publishing);
    };
    auto connection = std::make_shared<RtmpConnection>(std::move(socket), id, options, handler, stats, std::move(hooks));
    connections.emplace(id, Entry{connection, address, false});
    ++per_address[address];
    lock.unlock();
    ++stats->accepted;
    if (victim) {
      ++stats->evicted;
      handler.on_limit("evicted");
      victim->stop("evicted: " + std::to_string(options.max_connections) +
                   " connections and this one had not started publishing (ingest.max_publishers)");
    }
    connection->start();
  }

  void refuse(tcp::socket socket, const std::string& limit, const std::string& why) {
    boost::system::error_code ignored;
    socket.close(ignored);
    handler.on_limit(limit);
    auto& throttle = throttles.try_emplace(limit, std::chrono::seconds(10)).first->second;
    uint64_t held_back = 0;
    if (throttle.allow(held_back)) {
      log.warn("refused a connection: " + why +
               (held_back ? " (and " + std::to_string(held_back) + " more since the last such line)" : ""));
    }
  }

  void mark_publishing(SessionId id) {
    std::lock_guard lock(mutex);
    if (auto it = connections.find(id); it != connections.end()) it->second.publishing = true;
  }

  void forget(SessionId id) {
    std::lock_guard lock(mutex);
    forget_locked(id);
  }

  void forget_locked(SessionId id) {
    auto it = connections.find(id);
    if (it == connections.end()) return;
    auto count = per_address.find(it->second.address);
    if (count != per_address.end() && --count->second == 0) per_address.erase(count);
    connections.erase(it);
  }

  struct Entry {
    std::weak_ptr<RtmpConnection> connection;
    std::string address;
    bool publishing = false;  // accepted as a publisher once: never evicted
  };

  asio::io_context& io;
  RtmpServerOptions options;
  PublishHandler& handler;
  tcp::acceptor acceptor;
  core::Logger log;
  std::shared_ptr<RtmpServerStats> stats = std::make_shared<RtmpServerStats>();
  std::atomic<uint16_t> port{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  // Guards connections, per_address and next_id (acceptor strand vs. connections' strands, stop(),
  // disconnect()).
  mutable std::mutex mutex;
  std::map<SessionId, Entry> connections;
  std::unordered_map<std::string, size_t> per_address;
  SessionId next_id = 1;
  std::map<std::string, core::LogThrottle> throttles;  // acceptor strand only
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
      for (auto& [id, entry] : core->connections) {
        if (auto c = entry.connection.lock()) live.push_back(std::move(c));
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
    if (it != core_->connections.end()) connection = it->second.connection.lock();
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
