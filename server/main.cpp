// sreda: a real-time streaming server for online cultural events.
#include <gst/gst.h>
#include <malloc.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <cstring>
#include <map>
#include <string>

#include "pipelines/gst/plugin_check.h"
#include "pipelines/webrtc/webrtc_peer.h"
#include "server/app/app.h"
#include "server/relay/relay_url.h"
#include "server/relay/tls_trust.h"
#include "server/core/log.h"

extern char** environ;

int main(int argc, char** argv) {
  // Media buffers (a 2 s segment is ~600 KiB at 2.5 Mb/s) are allocated and freed all the time. With
  // glibc's defaults each one came from fresh pages (mmap above the threshold, and the ingest thread's
  // arena trimmed back to the kernel after every free): zero-filling those pages was a quarter of the
  // ingest thread's CPU (perf, scripts/bench/ingest). Keep freed memory for reuse instead.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("SREDA_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto loaded = sreda::config::load(argc, argv, env);
  if (loaded.help) {
    std::fputs(sreda::config::usage().c_str(), stdout);
    return 0;
  }
  // relays.allowed_hosts is a list the relays' layer reads (the config layer cannot: scripts/check-layers).
  if (auto d = sreda::relay::Destinations::parse(loaded.config.relays.allowed_hosts); !d)
    loaded.errors.push_back("relays.allowed_hosts: " + d.error().message);
  if (auto ca = sreda::relay::check_ca_file(loaded.config.relays.ca_file); !ca)
    loaded.errors.push_back("relays.ca_file: " + ca.error().message);
  if (!loaded.errors.empty()) {
    std::fprintf(stderr, "sreda: the configuration has %zu problem(s):\n", loaded.errors.size());
    for (const auto& e : loaded.errors) std::fprintf(stderr, "  %s\n", e.c_str());
    return 2;
  }
  sreda::core::LogLevel level;
  sreda::core::parse_log_level(loaded.config.log.level, level);
  sreda::core::set_log_level(level);
  sreda::core::Logger log("main");
  // First, before GStreamer's start and the server's own: from here on viewers' reloads wait, not fail.
  const int http_listener = sreda::app::App::bind_http_early(loaded.config);

  gst_init(nullptr, nullptr);
  auto missing = sreda::gst::missing_elements(sreda::gst::required_elements());
  if (!missing.empty()) {
    for (const auto& m : missing) log.error(m);
    return 3;
  }
  // WebRTC needs more (webrtcbin, libnice): without it only WHIP/WHEP are off, the rest runs.
  if (loaded.config.webrtc.enabled) {
    if (auto problems = sreda::webrtc::check_webrtc_support(); !problems.empty()) {
      std::string text;
      for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p;
      log.warn("WebRTC (WHIP ingest, WHEP playback) is off: " + text);
      loaded.config.webrtc.enabled = false;
    }
  }

  // Signals are taken by sigwait on this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  log.info(std::string("sreda ") + SREDA_VERSION + " starting; data dir " + loaded.config.server.data_dir +
           (loaded.config_path.empty() ? "" : "; config " + loaded.config_path));
  sreda::app::App app(loaded.config, http_listener);
  if (auto r = app.start(); !r) {
    log.error("cannot start: " + r.error().message);
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  log.info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
  // A stop that hangs (a stuck client, a pipeline that will not drain) must not keep the process:
  // after server.shutdown_timeout_s, or at a second signal, exit anyway.
  std::mutex m;
  std::condition_variable cv;
  bool stopped = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, std::chrono::seconds(loaded.config.server.shutdown_timeout_s), [&] { return stopped; })) {
      log.error("shutdown took longer than server.shutdown_timeout_s; exiting now");
      std::_Exit(1);
    }
  });
  std::thread second_signal([&] {
    int again = 0;
    sigwait(&signals, &again);
    log.warn("second signal: exiting now");
    std::_Exit(1);
  });
  second_signal.detach();
  app.stop();
  {
    std::lock_guard lock(m);
    stopped = true;
  }
  cv.notify_all();
  watchdog.join();
  return 0;
}
