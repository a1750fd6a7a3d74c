#include "server/audience/identity.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "server/core/random.h"

namespace sreda::audience {
namespace {

constexpr std::string_view kPrefix = "v1.";
constexpr size_t kIdChars = 22;   // 16 random bytes
constexpr size_t kMacChars = 43;  // HMAC-SHA256

bool url_safe(std::string_view s) {
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') return false;
  return true;
}

}  // namespace

ViewerTokens::ViewerTokens(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) secret_ = core::random_token(32);
}

std::string ViewerTokens::mac(std::string_view id) const {
  // The MAC covers the version prefix too, so a token of one format cannot pass as another.
  const std::string message = std::string(kPrefix) + std::string(id);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &len);
  return core::base64url(digest, len);
}

ViewerTokens::Issued ViewerTokens::issue() const {
  Issued out;
  out.id = core::random_token(16);
  out.token = std::string(kPrefix) + out.id + "." + mac(out.id);
  return out;
}

std::optional<std::string> ViewerTokens::verify(std::string_view token) const {
  if (token.size() != kPrefix.size() + kIdChars + 1 + kMacChars || token.substr(0, kPrefix.size()) != kPrefix)
    return std::nullopt;
  const std::string_view id = token.substr(kPrefix.size(), kIdChars);
  if (token[kPrefix.size() + kIdChars] != '.' || !url_safe(id)) return std::nullopt;
  if (!core::equal_secrets(mac(id), token.substr(kPrefix.size() + kIdChars + 1))) return std::nullopt;
  return std::string(id);
}

std::string viewer_cookie(std::string_view header) {
  const std::string_view name = kViewerCookie;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(pos, end - pos);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      std::string_view value = pair.substr(name.size() + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
    pos = end + 1;
  }
  return "";
}

std::string viewer_set_cookie(std::string_view token, bool secure) {
  return std::string(kViewerCookie) + "=" + std::string(token) + "; Path=/; Max-Age=" +
         std::to_string(kViewerCookieMaxAgeS) + "; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "");
}

std::optional<std::string> load_or_create_viewer_secret(const std::string& data_dir, std::string& secret) {
  const std::string path = (std::filesystem::path(data_dir) / "viewer-secret").string();
  // Created with its final mode (O_EXCL: never over a file someone else made), so it is never readable by others.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const std::string text = core::random_token(32);  // 256 bits from RAND_bytes, URL-safe base64
    const std::string line = text + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return "cannot write " + path + ": " + std::strerror(errno);
    secret = text;
    return std::nullopt;
  }
  if (errno != EEXIST) return "cannot create " + path + ": " + std::strerror(errno);
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  if (text.size() < 32) return path + " holds no usable secret (delete it to make a new one; issued viewer ids then end)";
  secret = text;
  return std::nullopt;
}

}  // namespace sreda::audience
