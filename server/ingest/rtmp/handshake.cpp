#include "server/ingest/rtmp/handshake.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace sreda::ingest::rtmp {
namespace {

constexpr uint8_t kKeyTail[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0,
                                  0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80,
                                  0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};

template <size_t N>
std::array<uint8_t, N + 32> make_key(const char (&text)[N + 1]) {
  std::array<uint8_t, N + 32> key{};
  std::memcpy(key.data(), text, N);
  std::memcpy(key.data() + N, kKeyTail, 32);
  return key;
}

const auto kPlayerKey = make_key<30>("Genuine Adobe Flash Player 001");
const auto kServerKey = make_key<36>("Genuine Adobe Flash Media Server 001");

// What we put in S1 bytes 4..7 (a non-zero version says "digest handshake" to clients).
constexpr uint8_t kServerVersion[4] = {0x0D, 0x0E, 0x0A, 0x0D};

void random_bytes(uint8_t* p, size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) {
    // Handshake randomness is not a secret; never fail a connection over it.
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 131 + 7);
  }
}

uint32_t uptime_ms() {
  using namespace std::chrono;
  return static_cast<uint32_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

void put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

std::span<const uint8_t> flash_player_key_partial() {
  return {kPlayerKey.data(), 30};
}
std::span<const uint8_t> flash_player_key_full() {
  return kPlayerKey;
}
std::span<const uint8_t> media_server_key_partial() {
  return {kServerKey.data(), 36};
}
std::span<const uint8_t> media_server_key_full() {
  return kServerKey;
}

std::array<uint8_t, kDigestSize> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  std::array<uint8_t, kDigestSize> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  return out;
}

size_t handshake_digest_offset(std::span<const uint8_t, kHandshakeSize> block, int scheme) {
  // scheme 0: 4 offset bytes at 8, digest within [12, 12+728+32); scheme 1: at 772, within [776, ...).
  size_t base = scheme == 0 ? 8 : 772;
  size_t sum = size_t{block[base]} + block[base + 1] + block[base + 2] + block[base + 3];
  return (sum % 728) + base + 4;
}

std::array<uint8_t, kDigestSize> handshake_digest(std::span<const uint8_t, kHandshakeSize> block,
                                                  size_t offset, std::span<const uint8_t> key) {
  std::array<uint8_t, kHandshakeSize - kDigestSize> message{};
  std::memcpy(message.data(), block.data(), offset);
  std::memcpy(message.data() + offset, block.data() + offset + kDigestSize,
              kHandshakeSize - offset - kDigestSize);
  return hmac_sha256(key, message);
}

std::optional<int> handshake_find_digest(std::span<const uint8_t, kHandshakeSize> block,
                                         std::span<const uint8_t> key) {
  for (int scheme : {0, 1}) {
    size_t offset = handshake_digest_offset(block, scheme);
    auto digest = handshake_digest(block, offset, key);
    if (std::equal(digest.begin(), digest.end(), block.begin() + static_cast<std::ptrdiff_t>(offset))) {
      return scheme;
    }
  }
  return std::nullopt;
}

core::Result<size_t> Handshake::feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  size_t used = 0;
  while (used < in.size() && state_ != State::done) {
    if (state_ == State::failed) return core::Error{"handshake", "handshake already failed", {}};
    size_t want = state_ == State::waiting_c0c1 ? 1 + kHandshakeSize : kHandshakeSize;
    size_t take = std::min(want - buf_.size(), in.size() - used);
    buf_.insert(buf_.end(), in.begin() + static_cast<std::ptrdiff_t>(used),
                in.begin() + static_cast<std::ptrdiff_t>(used + take));
    used += take;
    if (state_ == State::waiting_c0c1 && !buf_.empty() && buf_[0] != 3) {
      state_ = State::failed;
      return core::Error{"handshake", "unsupported RTMP version " + std::to_string(buf_[0]) + " in C0", {}};
    }
    if (buf_.size() < want) break;
    if (state_ == State::waiting_c0c1) {
      respond(out);
      state_ = State::waiting_c2;
    } else {
      state_ = State::done;  // C2 is not checked: clients differ in what they echo, nothing depends on it
    }
    buf_.clear();
  }
  return used;
}

void Handshake::respond(std::vector<uint8_t>& out) {
  std::span<const uint8_t, kHandshakeSize> c1(buf_.data() + 1, kHandshakeSize);
  bool client_versioned = c1[4] != 0 || c1[5] != 0 || c1[6] != 0 || c1[7] != 0;
  if (client_versioned) digest_scheme_ = handshake_find_digest(c1, flash_player_key_partial());

  size_t start = out.size();
  out.resize(start + 1 + 2 * kHandshakeSize);
  uint8_t* s0 = out.data() + start;
  uint8_t* s1 = s0 + 1;
  uint8_t* s2 = s1 + kHandshakeSize;
  s0[0] = 3;

  put_u32(s1, uptime_ms());
  random_bytes(s1 + 8, kHandshakeSize - 8);
  if (!digest_scheme_) {
    std::memset(s1 + 4, 0, 4);
    std::memcpy(s2, c1.data(), kHandshakeSize);  // plain: S2 echoes C1
    return;
  }

  std::memcpy(s1 + 4, kServerVersion, 4);
  std::span<const uint8_t, kHandshakeSize> s1_span(s1, kHandshakeSize);
  size_t s1_offset = handshake_digest_offset(s1_span, *digest_scheme_);
  auto s1_digest = handshake_digest(s1_span, s1_offset, media_server_key_partial());
  std::memcpy(s1 + s1_offset, s1_digest.data(), kDigestSize);

  size_t c1_offset = handshake_digest_offset(c1, *digest_scheme_);
  auto s2_key = hmac_sha256(media_server_key_full(), c1.subspan(c1_offset, kDigestSize));
  random_bytes(s2, kHandshakeSize - kDigestSize);
  auto s2_digest = hmac_sha256(s2_key, std::span<const uint8_t>(s2, kHandshakeSize - kDigestSize));
  std::memcpy(s2 + kHandshakeSize - kDigestSize, s2_digest.data(), kDigestSize);
}

}  // namespace sreda::ingest::rtmp
