#include "server/ingest/rtmp/chunk_reader.h"

#include <algorithm>
#include <string>

namespace sreda::ingest::rtmp {
namespace {

constexpr size_t kMessageHeaderSize[4] = {11, 7, 3, 0};
constexpr uint32_t kReserveCap = 256 * 1024;

uint32_t be24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | be24(p + 1);
}
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

size_t basic_header_size(uint8_t b0) {
  uint8_t bits = b0 & 0x3F;
  return bits == 0 ? 2 : bits == 1 ? 3 : 1;
}

uint32_t chunk_stream_id(const std::vector<uint8_t>& h) {
  uint8_t bits = h[0] & 0x3F;
  if (bits == 0) return 64 + uint32_t{h[1]};
  if (bits == 1) return 64 + uint32_t{h[1]} + 256 * uint32_t{h[2]};
  return bits;
}

bool is_amf_message(uint8_t type) {
  return type == kDataAmf3 || type == kCommandAmf3 || type == kDataAmf0 || type == kCommandAmf0;
}

}  // namespace

ChunkLimits ChunkLimits::before_publish(uint32_t max_command_size) {
  ChunkLimits l;
  l.max_message_size = max_command_size;
  l.max_command_size = max_command_size;
  l.max_chunk_size = 64 * 1024;
  l.max_chunk_streams = 8;
  l.max_pending_bytes = 2 * size_t{max_command_size};
  return l;
}

core::Result<void> ChunkReader::fail(std::string message, std::string code) {
  failed_ = true;
  return core::Error{std::move(code), std::move(message), {}};
}

size_t ChunkReader::header_bytes_needed() const {
  if (header_.empty()) return 1;
  size_t basic = basic_header_size(header_[0]);
  if (header_.size() < basic) return basic;
  size_t fmt = header_[0] >> 6;
  size_t total = basic + kMessageHeaderSize[fmt];
  if (header_.size() < total) return total;
  if (fmt < 3) {
    if (be24(header_.data() + basic) == 0xFFFFFF) total += 4;
  } else {
    auto it = streams_.find(chunk_stream_id(header_));
    if (it != streams_.end() && it->second.extended) total += 4;
  }
  return total;
}

core::Result<void> ChunkReader::feed(std::span<const uint8_t> data, std::vector<RtmpMessage>& out) {
  if (failed_) return core::Error{"rtmp_chunk", "reader already failed", {}};
  size_t pos = 0;
  while (pos < data.size()) {
    if (!in_payload_) {
      size_t need = header_bytes_needed();
      size_t take = std::min(need - header_.size(), data.size() - pos);
      header_.insert(header_.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                     data.begin() + static_cast<std::ptrdiff_t>(pos + take));
      pos += take;
      if (header_.size() < header_bytes_needed()) continue;
      if (auto r = on_header(); !r) return r;
      header_.clear();
      ChunkStream& cs = streams_[current_csid_];
      if (!in_payload_ && cs.in_progress && cs.length == 0) {
        if (auto r = on_message_complete(cs, current_csid_, out); !r) return r;
      }
      continue;
    }
    ChunkStream& cs = streams_[current_csid_];
    size_t take = std::min<size_t>(chunk_left_, data.size() - pos);
    if (pending_bytes_ + take > limits_.max_pending_bytes) {
      return fail("partial messages exceed " + std::to_string(limits_.max_pending_bytes) + " bytes",
                  "pending_bytes");
    }
    cs.payload.insert(cs.payload.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                      data.begin() + static_cast<std::ptrdiff_t>(pos + take));
    pending_bytes_ += take;
    chunk_left_ -= static_cast<uint32_t>(take);
    pos += take;
    if (chunk_left_ == 0) {
      in_payload_ = false;
      if (cs.payload.size() == cs.length) {
        if (auto r = on_message_complete(cs, current_csid_, out); !r) return r;
      }
    }
  }
  return {};
}

core::Result<void> ChunkReader::on_header() {
  const uint8_t* h = header_.data();
  size_t basic = basic_header_size(h[0]);
  uint8_t fmt = h[0] >> 6;
  uint32_t csid = chunk_stream_id(header_);
  auto it = streams_.find(csid);
  if (it == streams_.end()) {
    if (streams_.size() >= limits_.max_chunk_streams) {
      return fail("more than " + std::to_string(limits_.max_chunk_streams) + " chunk streams", "chunk_streams");
    }
    if (fmt >= 2) {
      return fail("fmt " + std::to_string(fmt) + " chunk opens chunk stream " + std::to_string(csid));
    }
    it = streams_.emplace(csid, ChunkStream{}).first;
  }
  ChunkStream& cs = it->second;
  current_csid_ = csid;
  const uint8_t* mh = h + basic;
  const uint8_t* ext = mh + kMessageHeaderSize[fmt];

  if (fmt == 3 && cs.in_progress) {  // continuation of the message being read
    chunk_left_ = std::min<uint32_t>(chunk_size_, cs.length - static_cast<uint32_t>(cs.payload.size()));
    in_payload_ = chunk_left_ > 0;
    return {};
  }
  if (cs.in_progress) {
    return fail("new message header on chunk stream " + std::to_string(csid) + " before the last one ended");
  }
  if (fmt < 3) {
    uint32_t ts_field = be24(mh);
    cs.extended = ts_field == 0xFFFFFF;
    uint32_t value = cs.extended ? be32(ext) : ts_field;
    if (fmt == 0) {
      cs.timestamp = value;
      cs.delta = value;  // as ffmpeg and SRS: a following fmt 3 message adds the fmt 0 timestamp again
    } else {
      cs.delta = value;
      cs.timestamp += value;
    }
    if (fmt <= 1) {
      cs.length = be24(mh + 3);
      cs.type = mh[6];
    }
    if (fmt == 0) cs.stream_id = le32(mh + 7);
    cs.has_header = true;
  } else {
    if (!cs.has_header)
      return fail("fmt 3 chunk on chunk stream " + std::to_string(csid) + " without a header");
    if (cs.extended) cs.delta = be32(ext);
    cs.timestamp += cs.delta;
  }
  if (is_amf_message(cs.type) && cs.length > limits_.max_command_size) {
    return fail("command message of " + std::to_string(cs.length) + " bytes exceeds the limit of " +
                    std::to_string(limits_.max_command_size),
                "command_bytes");
  }
  if (cs.length > limits_.max_message_size) {
    return fail("declared message of " + std::to_string(cs.length) + " bytes exceeds the limit of " +
                    std::to_string(limits_.max_message_size),
                "message_bytes");
  }
  cs.in_progress = true;
  cs.payload.clear();
  // Room for the whole message up front (appending chunk by chunk moved a video frame several times),
  // capped so that declared-but-unsent messages cost little: ≤ 64 chunk streams × 256 KiB, and never more
  // than the pending budget allows.
  cs.payload.reserve(std::min<size_t>({cs.length, kReserveCap, limits_.max_pending_bytes}));
  chunk_left_ = std::min(chunk_size_, cs.length);
  in_payload_ = chunk_left_ > 0;
  return {};
}

core::Result<void> ChunkReader::on_message_complete(ChunkStream& cs, uint32_t csid,
                                                    std::vector<RtmpMessage>& out) {
  RtmpMessage m;
  m.chunk_stream_id = csid;
  m.type = cs.type;
  m.stream_id = cs.stream_id;
  m.timestamp = cs.timestamp;
  m.payload = std::move(cs.payload);
  cs.payload = {};
  cs.in_progress = false;
  pending_bytes_ -= m.payload.size();

  if (m.type == kSetChunkSize) {
    if (m.payload.size() < 4) return fail("short Set Chunk Size message");
    uint32_t size = be32(m.payload.data());
    if (size == 0 || (size & 0x80000000u) != 0) return fail("refused chunk size " + std::to_string(size));
    if (size > limits_.max_chunk_size) {
      return fail("chunk size " + std::to_string(size) + " exceeds the limit of " +
                      std::to_string(limits_.max_chunk_size),
                  "chunk_size");
    }
    chunk_size_ = size;
  } else if (m.type == kAbort) {
    if (m.payload.size() < 4) return fail("short Abort message");
    auto target = streams_.find(be32(m.payload.data()));
    if (target != streams_.end() && target->second.in_progress) {
      pending_bytes_ -= target->second.payload.size();
      target->second.payload = {};
      target->second.in_progress = false;
    }
  }
  out.push_back(std::move(m));
  return {};
}

}  // namespace sreda::ingest::rtmp
