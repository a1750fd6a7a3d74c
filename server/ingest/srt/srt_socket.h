// RAII holders for libsrt: SrtLibrary (srt_startup/srt_cleanup, which libsrt itself reference-counts, so
// other code may call them too) and SrtSocket (one SRTSOCKET, srt_close on destruction).
// Threads: each object is used by one thread at a time; libsrt calls themselves are thread-safe.
#pragma once

#include <srt/srt.h>

#include <utility>

namespace sreda::ingest::srt {

class SrtLibrary {
 public:
  SrtLibrary() : ok_(srt_startup() >= 0) {}
  ~SrtLibrary() {
    if (ok_) srt_cleanup();
  }
  SrtLibrary(const SrtLibrary&) = delete;
  SrtLibrary& operator=(const SrtLibrary&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

class SrtSocket {
 public:
  SrtSocket() = default;
  explicit SrtSocket(SRTSOCKET s) : s_(s) {}
  ~SrtSocket() { reset(); }
  SrtSocket(SrtSocket&& o) noexcept : s_(std::exchange(o.s_, SRT_INVALID_SOCK)) {}
  SrtSocket& operator=(SrtSocket&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, SRT_INVALID_SOCK);
    }
    return *this;
  }
  SrtSocket(const SrtSocket&) = delete;
  SrtSocket& operator=(const SrtSocket&) = delete;

  SRTSOCKET get() const { return s_; }
  bool valid() const { return s_ != SRT_INVALID_SOCK; }
  void reset() {
    if (s_ != SRT_INVALID_SOCK) srt_close(s_);
    s_ = SRT_INVALID_SOCK;
  }

 private:
  SRTSOCKET s_ = SRT_INVALID_SOCK;
};

// One srt_epoll container.
class SrtEpoll {
 public:
  SrtEpoll() : eid_(srt_epoll_create()) {}
  ~SrtEpoll() {
    if (eid_ >= 0) srt_epoll_release(eid_);
  }
  SrtEpoll(const SrtEpoll&) = delete;
  SrtEpoll& operator=(const SrtEpoll&) = delete;
  int get() const { return eid_; }
  bool valid() const { return eid_ >= 0; }

 private:
  int eid_;
};

}  // namespace sreda::ingest::srt
