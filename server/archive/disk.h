// Disk: the narrow seam between the archive and the file system (STYLE.md 11), so tests can inject
// write failures (ENOSPC, EACCES) even when they run as root. PosixDisk is the real one.
//
// Threads: a Disk is used by one thread at a time (the recorder's writer thread, or recover() at
// start-up); PosixDisk keeps no state and is safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>

namespace sreda::archive {

// Owns one file descriptor (RAII); closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

class Disk {
 public:
  virtual ~Disk() = default;
  // mkdir -p
  virtual std::error_code make_directories(const std::string& path) = 0;
  // Opens for writing, creating it (0644): truncated, or positioned at its end when `append`.
  virtual std::error_code open_for_write(const std::string& path, bool append, UniqueFd& out) = 0;
  // Writes everything (retries short writes and EINTR).
  virtual std::error_code write_all(int fd, std::span<const uint8_t> bytes) = 0;
  virtual std::error_code sync(int fd) = 0;  // fdatasync
  virtual std::error_code rename(const std::string& from, const std::string& to) = 0;
  virtual std::error_code remove(const std::string& path) = 0;  // missing is not an error
  virtual std::error_code truncate(const std::string& path, int64_t size) = 0;
  virtual std::error_code sync_directory(const std::string& path) = 0;
};

class PosixDisk : public Disk {
 public:
  std::error_code make_directories(const std::string& path) override;
  std::error_code open_for_write(const std::string& path, bool append, UniqueFd& out) override;
  std::error_code write_all(int fd, std::span<const uint8_t> bytes) override;
  std::error_code sync(int fd) override;
  std::error_code rename(const std::string& from, const std::string& to) override;
  std::error_code remove(const std::string& path) override;
  std::error_code truncate(const std::string& path, int64_t size) override;
  std::error_code sync_directory(const std::string& path) override;
};

// The process-wide PosixDisk (stateless).
Disk& posix_disk();

// The whole file as text; nullopt when it cannot be read.
std::optional<std::string> read_text_file(const std::string& path);

// Writes `bytes` to `path` atomically: `<path>.tmp`, fsync, rename, fsync of the folder.
std::error_code write_file_atomically(Disk& disk, const std::string& path, std::span<const uint8_t> bytes);
std::error_code write_file_atomically(Disk& disk, const std::string& path, const std::string& text);

}  // namespace sreda::archive
