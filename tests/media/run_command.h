// Test helper for media tests: runs a shell command (ffmpeg, ffprobe, gst-launch-1.0) to its end.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace sreda::test {

struct CommandResult {
  int status = -1;     // its exit code; -1 when it could not start or did not exit by itself
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// What it printed (stdout and stderr), for commands whose output is the check (ffprobe).
inline std::string run_output(const std::string& command) {
  return run_command(command).output;
}

}  // namespace sreda::test
