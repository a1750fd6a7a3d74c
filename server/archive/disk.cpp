#include "server/archive/disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace sreda::archive {

namespace {
std::error_code last_error() { return {errno, std::generic_category()}; }
}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::error_code PosixDisk::make_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  return ec;
}

std::error_code PosixDisk::open_for_write(const std::string& path, bool append, UniqueFd& out) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return last_error();
  out.reset(fd);
  return {};
}

std::error_code PosixDisk::write_all(int fd, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

std::error_code PosixDisk::sync(int fd) { return ::fdatasync(fd) == 0 ? std::error_code{} : last_error(); }

std::error_code PosixDisk::rename(const std::string& from, const std::string& to) {
  return ::rename(from.c_str(), to.c_str()) == 0 ? std::error_code{} : last_error();
}

std::error_code PosixDisk::remove(const std::string& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return {};
  return last_error();
}

std::error_code PosixDisk::truncate(const std::string& path, int64_t size) {
  return ::truncate(path.c_str(), size) == 0 ? std::error_code{} : last_error();
}

std::error_code PosixDisk::sync_directory(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return last_error();
  return ::fsync(fd.get()) == 0 ? std::error_code{} : last_error();
}

Disk& posix_disk() {
  static PosixDisk disk;
  return disk;
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::error_code write_file_atomically(Disk& disk, const std::string& path, std::span<const uint8_t> bytes) {
  const std::string tmp = path + ".tmp";
  {
    UniqueFd fd;
    if (auto ec = disk.open_for_write(tmp, false, fd)) return ec;
    if (auto ec = disk.write_all(fd.get(), bytes)) {
      fd.reset();
      (void)disk.remove(tmp);
      return ec;
    }
    if (auto ec = disk.sync(fd.get())) {
      fd.reset();
      (void)disk.remove(tmp);
      return ec;
    }
  }
  if (auto ec = disk.rename(tmp, path)) {
    (void)disk.remove(tmp);
    return ec;
  }
  return disk.sync_directory(std::filesystem::path(path).parent_path().string());
}

std::error_code write_file_atomically(Disk& disk, const std::string& path, const std::string& text) {
  return write_file_atomically(
      disk, path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace sreda::archive
