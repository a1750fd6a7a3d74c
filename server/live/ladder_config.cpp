#include "server/live/ladder_config.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "nlohmann/json.hpp"

namespace sreda::live {
namespace {

using json = nlohmann::json;

const std::set<std::string> kPresets = {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium"};

bool safe_rung_name(const std::string& s) {
  if (s.empty() || s.size() > 32 || s == "source" || s == "poster") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

core::Error bad(const std::string& field, const std::string& message) {
  return core::Error{"bad_ladder", field + ": " + message, field};
}

// An integer field in [lo, hi], or `fallback` when absent.
core::Result<int> int_field(const json& j, const std::string& key, const std::string& path, int lo, int hi,
                            int fallback) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_number_integer()) return bad(path, "expected an integer");
  const int64_t n = v.get<int64_t>();
  if (n < lo || n > hi) return bad(path, "must be " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(n);
}

}  // namespace

core::Result<pipelines::LadderSpec> parse_ladder(const std::string& name, const std::string& text) {
  json j;
  try {
    j = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    return bad(name, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return bad(name, "expected an object");
  static const std::set<std::string> keys = {"x264_preset", "vbv_ms", "poster_interval_s", "poster_width",
                                                   "own_size_min_percent", "rungs"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!keys.count(it.key())) return bad(name + "." + it.key(), "unknown key");
  pipelines::LadderSpec spec;
  spec.name = name;
  if (j.contains("x264_preset")) {
    if (!j["x264_preset"].is_string() || !kPresets.count(j["x264_preset"].get<std::string>()))
      return bad(name + ".x264_preset", "one of ultrafast, superfast, veryfast, faster, fast, medium");
    spec.x264_preset = j["x264_preset"].get<std::string>();
  }
  auto vbv = int_field(j, "vbv_ms", name + ".vbv_ms", 100, 10000, spec.vbv_ms);
  if (!vbv) return vbv.error();
  spec.vbv_ms = *vbv;
  auto poster = int_field(j, "poster_interval_s", name + ".poster_interval_s", 0, 3600, spec.poster_interval_s);
  if (!poster) return poster.error();
  spec.poster_interval_s = *poster;
  auto poster_w = int_field(j, "poster_width", name + ".poster_width", 64, 1920, spec.poster_width);
  if (!poster_w) return poster_w.error();
  spec.poster_width = *poster_w;
  auto own = int_field(j, "own_size_min_percent", name + ".own_size_min_percent", 0, 1000, spec.own_size_min_percent);
  if (!own) return own.error();
  spec.own_size_min_percent = *own;
  if (!j.contains("rungs") || !j["rungs"].is_array()) return bad(name + ".rungs", "expected a list of rungs");
  std::set<std::string> names;
  int audio = 0;
  for (size_t i = 0; i < j["rungs"].size(); ++i) {
    const json& r = j["rungs"][i];
    const std::string path = name + ".rungs[" + std::to_string(i) + "]";
    if (!r.is_object()) return bad(path, "expected an object");
    pipelines::RungSpec rung;
    if (!r.contains("name") || !r["name"].is_string() || !safe_rung_name(r["name"].get<std::string>()))
      return bad(path + ".name", "letters, digits, _ or -, at most 32, not 'source' or 'poster'");
    rung.name = r["name"].get<std::string>();
    if (!names.insert(rung.name).second) return bad(path + ".name", "'" + rung.name + "' twice");
    if (r.contains("audio") && !r["audio"].is_boolean()) return bad(path + ".audio", "expected true or false");
    rung.audio_only = r.value("audio", false);
    auto kbps = int_field(r, "bitrate_kbps", path + ".bitrate_kbps", 16, 50000, 0);
    if (!kbps) return kbps.error();
    if (*kbps == 0) return bad(path + ".bitrate_kbps", "missing");
    rung.bitrate_kbps = *kbps;
    if (rung.audio_only) {
      if (++audio > 1) return bad(path, "only one audio rung");
      if (rung.bitrate_kbps > 320) return bad(path + ".bitrate_kbps", "AAC: at most 320");
    } else {
      auto h = int_field(r, "height", path + ".height", 96, 2160, 0);
      if (!h) return h.error();
      if (*h == 0 || *h % 2) return bad(path + ".height", "an even number of lines is required");
      rung.height = *h;
    }
    spec.rungs.push_back(rung);
  }
  return spec;
}

pipelines::LadderSpec builtin_default_ladder() {
  pipelines::LadderSpec s;
  s.name = "default";
  s.x264_preset = "veryfast";
  s.vbv_ms = 1000;
  s.poster_interval_s = 10;
  s.poster_width = 320;
  s.rungs = {{"720p", false, 720, 2800}, {"480p", false, 480, 1200}, {"360p", false, 360, 700}, {"audio", true, 0, 64}};
  return s;
}

const pipelines::LadderSpec* LadderSet::for_studio(int64_t studio_id) const {
  auto s = by_studio.find(studio_id);
  auto it = ladders.find(s != by_studio.end() ? s->second : default_name);
  return it == ladders.end() ? nullptr : &it->second;
}

LadderSet load_ladders(const std::string& dir, bool dir_required, const std::string& default_name,
                       const std::string& studios, std::vector<std::string>& errors) {
  namespace fs = std::filesystem;
  LadderSet set;
  set.default_name = default_name;
  std::error_code ec;
  if (!dir_required && !fs::is_directory(dir, ec)) {
    set.ladders["default"] = builtin_default_ladder();
    ec.clear();
    if (default_name != "default") errors.push_back("ladder.default: no ladder folder " + dir);
    if (!studios.empty()) errors.push_back("ladder.studios: no ladder folder " + dir);
    return set;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".jsonc") continue;
    std::ifstream f(entry.path());
    std::stringstream text;
    text << f.rdbuf();
    auto spec = parse_ladder(entry.path().stem().string(), text.str());
    if (spec) {
      set.ladders[spec->name] = *spec;
    } else {
      errors.push_back("ladder.dir: " + entry.path().string() + ": " + spec.error().message);
    }
  }
  if (ec) errors.push_back("ladder.dir: cannot read " + dir + ": " + ec.message());
  if (!ec && !set.ladders.count(default_name))
    errors.push_back("ladder.default: no ladder '" + default_name + "' (" + dir + "/" + default_name + ".jsonc)");
  std::stringstream list(studios);
  std::string item;
  while (std::getline(list, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    int64_t id = 0;
    const std::string digits = item.substr(0, eq == std::string::npos ? 0 : eq);
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (eq == std::string::npos || r.ec != std::errc() || r.ptr != digits.data() + digits.size() || id <= 0) {
      errors.push_back("ladder.studios: '" + item + "' is not <studio id>=<ladder name>");
      continue;
    }
    const std::string name = item.substr(eq + 1);
    if (!ec && !set.ladders.count(name)) errors.push_back("ladder.studios: no ladder '" + name + "'");
    set.by_studio[id] = name;
  }
  return set;
}

}  // namespace sreda::live
