// Secrets and ids from the OS CSPRNG (OpenSSL RAND_bytes). Any thread.
#pragma once

#include <string>
#include <string_view>

namespace sreda::core {

// `bytes` random bytes as URL-safe base64 without padding (16 bytes → 22 characters).
std::string random_token(size_t bytes);
// Bytes as URL-safe base64 without padding (32 bytes → 43 characters).
std::string base64url(const unsigned char* data, size_t size);
// Lower-case hex SHA-256 of the text: how tokens are stored, so a stolen database holds no live token.
std::string sha256_hex(std::string_view text);
// Constant-time comparison for secrets.
bool equal_secrets(std::string_view a, std::string_view b);

}  // namespace sreda::core
