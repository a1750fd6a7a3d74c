#include "server/ingest/rtmp/rtmp_session.h"

#include <algorithm>

namespace sreda::ingest::rtmp {
namespace {

constexpr uint32_t kControlCsid = 2;
constexpr uint32_t kCommandCsid = 3;
constexpr uint32_t kStatusCsid = 5;

enum UserControlEvent : uint16_t {
  kStreamBegin = 0,
  kSetBufferLength = 3,
  kPingRequest = 6,
  kPingResponse = 7
};

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void put_be(uint32_t v, int bytes, std::vector<uint8_t>& out) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Amf0Value str(std::string s) {
  return Amf0Value::make_string(std::move(s));
}
Amf0Value num(double d) {
  return Amf0Value::make_number(d);
}

}  // namespace

std::string_view to_string(RtmpSession::State state) {
  switch (state) {
    case RtmpSession::State::handshake:
      return "handshake";
    case RtmpSession::State::connecting:
      return "connecting";
    case RtmpSession::State::connected:
      return "connected";
    case RtmpSession::State::publish_pending:
      return "publish_pending";
    case RtmpSession::State::publishing:
      return "publishing";
    case RtmpSession::State::closed:
      return "closed";
  }
  return "?";
}

uint32_t RtmpSession::Track::next(uint32_t raw) {
  if (!started) {
    started = true;
    last = raw;
  } else {
    auto diff = static_cast<int32_t>(raw - last_raw);  // handles the 2^32 wrap
    if (diff > 0) last += diff;                        // a step back is clamped: never decrease
  }
  last_raw = raw;
  return static_cast<uint32_t>(last);
}

RtmpSession::RtmpSession(SessionOptions options)
    : options_(options), reader_(ChunkLimits::before_publish(options.chunk.max_command_size)) {}

void RtmpSession::feed(std::span<const uint8_t> data, SessionOutput& out) {
  if (state_ == State::closed) return;
  bytes_received_ += data.size();
  if (state_ == State::handshake) {
    auto used = handshake_.feed(data, out.send);
    if (!used) return close("handshake: " + used.error().message, out);
    if (!handshake_.done()) return;
    state_ = State::connecting;
    data = data.subspan(*used);
  }
  messages_.clear();
  auto r = reader_.feed(data, messages_);
  // Messages completed before an error are still handled (e.g. an Unpublish before garbage).
  for (auto& m : messages_) {
    if (state_ == State::closed) break;
    on_message(m, out);
  }
  messages_.clear();
  if (!r && state_ != State::closed) {
    const bool limit = r.error().code != "rtmp_chunk";
    return close((limit ? "refused: " : "protocol error: ") + r.error().message, out,
                 limit ? r.error().code : std::string());
  }
  if (state_ != State::closed && peer_window_ > 0 && bytes_received_ - last_ack_ >= peer_window_) {
    last_ack_ = bytes_received_;
    send_control(kAcknowledgement, static_cast<uint32_t>(bytes_received_), out);
  }
}

void RtmpSession::on_message(RtmpMessage& m, SessionOutput& out) {
  switch (m.type) {
    case kSetChunkSize:
    case kAbort:
    case kAcknowledgement:
    case kSetPeerBandwidth:
      break;  // chunk-level ones are applied by the reader
    case kWindowAckSize:
      if (m.payload.size() < 4) return close("protocol error: short Window Acknowledgement Size", out);
      peer_window_ = be32(m.payload.data());
      break;
    case kUserControl:
      on_user_control(m, out);
      break;
    case kCommandAmf0:
      on_command(m, m.payload, out);
      break;
    case kCommandAmf3:  // AMF3 command: a format byte (0) then AMF0 values
      if (!m.payload.empty()) on_command(m, std::span<const uint8_t>(m.payload).subspan(1), out);
      break;
    case kDataAmf0:
      on_data(m, m.payload, out);
      break;
    case kDataAmf3:
      if (!m.payload.empty()) on_data(m, std::span<const uint8_t>(m.payload).subspan(1), out);
      break;
    case kAudio:
    case kVideo:
      on_media(m, out);
      break;
    default:
      break;  // aggregate (22) and shared objects are not used by publishers we support
  }
}

void RtmpSession::on_user_control(const RtmpMessage& m, SessionOutput& out) {
  if (m.payload.size() < 2) return close("protocol error: short User Control message", out);
  auto event = static_cast<uint16_t>((m.payload[0] << 8) | m.payload[1]);
  if (event == kPingRequest && m.payload.size() >= 6)
    send_user_control(kPingResponse, be32(m.payload.data() + 2), out);
}

void RtmpSession::on_command(const RtmpMessage& m, std::span<const uint8_t> body, SessionOutput& out) {
  auto values = amf0_decode_all(body);
  if (!values) {
    if (values.error().code == "amf0_limit") return close("refused: command " + values.error().message, out, "amf0");
    return close("malformed command: " + values.error().message, out);
  }
  auto& v = *values;
  if (v.empty() || !v[0].is_string()) return close("command without a name", out);
  const std::string& name = v[0].string;
  double txn = v.size() > 1 && v[1].is_number() ? v[1].number : 0;

  if (name == "connect") return on_connect(txn, v, out);
  if (state_ == State::connecting) return close("command '" + name.substr(0, 64) + "' before connect", out);

  if (name == "releaseStream" || name == "FCPublish") {
    if (txn > 0)
      send_command(kCommandCsid, 0,
                   {str("_result"), num(txn), Amf0Value::make_null(), Amf0Value::make_undefined()}, out);
  } else if (name == "createStream") {
    if (streams_created_ >= options_.max_streams) return close("too many createStream calls", out);
    ++streams_created_;
    send_command(kCommandCsid, 0, {str("_result"), num(txn), Amf0Value::make_null(), num(streams_created_)},
                 out);
  } else if (name == "publish") {
    on_publish(m, v, out);
  } else if (name == "FCUnpublish" || name == "deleteStream" || name == "closeStream") {
    if (name == "FCUnpublish" && txn > 0) {
      send_command(kCommandCsid, 0,
                   {str("_result"), num(txn), Amf0Value::make_null(), Amf0Value::make_undefined()}, out);
    }
    if (state_ == State::publishing || state_ == State::publish_pending)
      end_publish("client sent " + name, out);
  }
  // Anything else (_checkbw, getStreamLength, play, ...) is ignored: we only take publishers.
}

void RtmpSession::on_connect(double txn, const std::vector<Amf0Value>& v, SessionOutput& out) {
  if (state_ != State::connecting) return close("second connect", out);
  if (v.size() < 3 || !v[2].is_object_like()) return close("connect without a command object", out);
  app_ = v[2].get_string("app");
  tc_url_ = v[2].get_string("tcUrl");
  state_ = State::connected;

  send_control(kWindowAckSize, options_.window_ack_size, out);
  std::vector<uint8_t> bw;
  put_be(options_.peer_bandwidth, 4, bw);
  bw.push_back(2);  // dynamic
  send(kControlCsid, kSetPeerBandwidth, 0, bw, out);
  send_control(kSetChunkSize, options_.out_chunk_size, out);
  writer_.set_chunk_size(options_.out_chunk_size);

  auto props =
      Amf0Value::make_object({{"fmsVer", str("FMS/3,0,1,123")}, {"capabilities", num(31)}, {"mode", num(1)}});
  auto info = Amf0Value::make_object({{"level", str("status")},
                                      {"code", str("NetConnection.Connect.Success")},
                                      {"description", str("Connection succeeded.")},
                                      {"objectEncoding", num(0)}});
  send_command(kCommandCsid, 0, {str("_result"), num(txn), props, info}, out);
}

void RtmpSession::on_publish(const RtmpMessage& m, const std::vector<Amf0Value>& v, SessionOutput& out) {
  if (state_ != State::connected) return close("publish in state " + std::string(to_string(state_)), out);
  publish_stream_id_ = m.stream_id;
  std::string name = v.size() > 3 && v[3].is_string() ? v[3].string : std::string();
  PublishRequest request;
  request.app = app_;
  request.tc_url = tc_url_;
  request.publish_type = v.size() > 4 && v[4].is_string() ? v[4].string : "live";
  auto q = name.find('?');
  request.stream_key = name.substr(0, q);
  if (q != std::string::npos) request.query = name.substr(q + 1);
  if (request.stream_key.empty()) {
    state_ = State::publish_pending;
    return reject("empty stream key", out);
  }
  stream_key_ = request.stream_key;
  state_ = State::publish_pending;
  out.events.emplace_back(std::move(request));
}

void RtmpSession::accept(SessionOutput& out) {
  if (state_ != State::publish_pending) return;
  state_ = State::publishing;
  reader_.set_limits(options_.chunk);
  send_user_control(kStreamBegin, publish_stream_id_, out);
  send_status("status", "NetStream.Publish.Start", "Start publishing", out);
}

void RtmpSession::reject(std::string_view reason, SessionOutput& out) {
  if (state_ != State::publish_pending) return;
  send_status("error", "NetStream.Publish.BadName", reason, out);
  close("publish rejected: " + std::string(reason), out);
}

void RtmpSession::end_publish(std::string reason, SessionOutput& out) {
  state_ = State::connected;
  out.events.emplace_back(Unpublished{std::move(reason)});
}

void RtmpSession::close(std::string reason, SessionOutput& out, std::string limit) {
  state_ = State::closed;
  if (!out.close) {
    out.close = std::move(reason);
    out.limit = std::move(limit);
  }
}

void RtmpSession::on_media(RtmpMessage& m, SessionOutput& out) {
  if (state_ != State::publishing) {
    ++dropped_media_;
    return;
  }
  if (m.payload.empty()) return;
  FlvTag tag;
  tag.type = m.type;
  uint8_t b0 = m.payload[0];
  if (m.type == kVideo) {
    tag.timestamp = video_.next(m.timestamp);
    tag.keyframe = (b0 >> 4) == 1;
    tag.sequence_header = (b0 & 0x0F) == 7 && m.payload.size() > 1 && m.payload[1] == 0;
  } else {
    tag.timestamp = audio_.next(m.timestamp);
    tag.sequence_header = (b0 >> 4) == 10 && m.payload.size() > 1 && m.payload[1] == 0;
  }
  tag.data = std::move(m.payload);
  out.events.emplace_back(std::move(tag));
}

void RtmpSession::on_data(const RtmpMessage& m, std::span<const uint8_t> body, SessionOutput& out) {
  if (state_ != State::publishing) {
    ++dropped_media_;
    return;
  }
  size_t offset = 0;
  auto first = amf0_decode(body, offset);
  if (!first || !first->is_string()) return;  // not a named data message: ignored
  size_t start = 0;
  if (first->string == "@setDataFrame") {
    start = offset;
    auto second = amf0_decode(body, offset);
    if (!second || !second->is_string() || second->string != "onMetaData") return;
  } else if (first->string != "onMetaData") {
    return;
  }
  FlvTag tag;
  tag.type = FlvTag::script;
  tag.timestamp = script_.next(m.timestamp);
  tag.data.assign(body.begin() + static_cast<std::ptrdiff_t>(start), body.end());
  out.events.emplace_back(std::move(tag));
}

void RtmpSession::send(uint32_t csid, uint8_t type, uint32_t stream_id, std::span<const uint8_t> payload,
                       SessionOutput& out) {
  writer_.write(csid, type, stream_id, 0, payload, out.send);
}

void RtmpSession::send_control(uint8_t type, uint32_t value, SessionOutput& out) {
  std::vector<uint8_t> payload;
  put_be(value, 4, payload);
  send(kControlCsid, type, 0, payload, out);
}

void RtmpSession::send_user_control(uint16_t event, uint32_t value, SessionOutput& out) {
  std::vector<uint8_t> payload;
  put_be(event, 2, payload);
  put_be(value, 4, payload);
  send(kControlCsid, kUserControl, 0, payload, out);
}

void RtmpSession::send_command(uint32_t csid, uint32_t stream_id, const std::vector<Amf0Value>& values,
                               SessionOutput& out) {
  send(csid, kCommandAmf0, stream_id, amf0_encode_all(values), out);
}

void RtmpSession::send_status(std::string_view level, std::string_view code, std::string_view description,
                              SessionOutput& out) {
  auto info = Amf0Value::make_object({{"level", str(std::string(level))},
                                      {"code", str(std::string(code))},
                                      {"description", str(std::string(description))}});
  send_command(kStatusCsid, publish_stream_id_, {str("onStatus"), num(0), Amf0Value::make_null(), info}, out);
}

}  // namespace sreda::ingest::rtmp
