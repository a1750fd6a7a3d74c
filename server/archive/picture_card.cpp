#include "server/archive/picture_card.h"

#include <gst/gst.h>

#include <array>
#include <ctime>
#include <filesystem>

#include "pipelines/gst/gst_ref.h"
#include "server/core/markup.h"

namespace sreda::archive {
namespace {

gst::GstRef<GstElement> make(const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  return gst::GstRef<GstElement>::adopt(e ? GST_ELEMENT(gst_object_ref_sink(e)) : nullptr);
}

}  // namespace

uint32_t category_colour(const std::string& category) {
  static const std::array<std::pair<const char*, uint32_t>, 8> kColours = {{
      {"concert", 0xff7a2e3b},      // wine
      {"master_class", 0xff2f4f8a}, // blue
      {"lecture", 0xff2e6b4f},      // green
      {"museum_tour", 0xff8a5a2b},  // ochre
      {"dance", 0xff8a2e6e},        // magenta
      {"fine_art", 0xff5b3f8a},     // violet
      {"sport", 0xff1f6f8b},        // teal
      {"other", 0xff444a52},        // slate
  }};
  for (const auto& [name, colour] : kColours)
    if (category == name) return colour;
  return kColours.back().second;
}

std::string card_time(int64_t epoch_s) {
  static const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                  "July",    "August",   "September", "October", "November", "December"};
  const std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char clock[8];
  std::snprintf(clock, sizeof clock, "%02d:%02d", tm.tm_hour, tm.tm_min);
  return std::to_string(tm.tm_mday) + " " + kMonths[tm.tm_mon] + " " + std::to_string(tm.tm_year + 1900) + ", " +
         clock + " UTC";
}

std::string make_picture_card(const CardText& text, const std::string& out_path, const CardLayout& layout) {
  auto pipeline = gst::GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("card"))));
  auto src = make("videotestsrc"), caps = make("capsfilter"), overlay = make("textoverlay"),
       convert = make("videoconvert"), enc = make(layout.png ? "pngenc" : "jpegenc"), sink = make("filesink");
  if (!src || !caps || !overlay || !convert || !enc || !sink)
    return "a GStreamer element is missing (textoverlay: install gstreamer1.0-x)";
  gst_util_set_object_arg(G_OBJECT(src.get()), "pattern", "solid-color");
  g_object_set(src.get(), "foreground-color", category_colour(text.category), "num-buffers", 1, nullptr);
  const std::string size = ",width=" + std::to_string(layout.width) + ",height=" + std::to_string(layout.height);
  auto filter = gst::GstRef<GstCaps>::adopt(gst_caps_from_string(("video/x-raw,format=I420" + size + ",framerate=1/1").c_str()));
  g_object_set(caps.get(), "caps", filter.get(), nullptr);
  const std::string title_font = "DejaVu Sans Bold " + std::to_string(layout.title_pt);
  const std::string text_font = "DejaVu Sans " + std::to_string(layout.text_pt);
  std::string markup = "<span font_desc=\"" + title_font + "\">" + core::xml_escape(text.title) + "</span>\n\n<span font_desc=\"" +
                       text_font + "\">" + core::xml_escape(text.studio) + "\n" +
                       core::xml_escape(text.when.empty() ? card_time(text.starts_at) : text.when) + "</span>";
  if (!text.footer.empty())
    markup += "\n\n<span font_desc=\"DejaVu Sans " + std::to_string(layout.text_pt * 2 / 3) + "\">" + core::xml_escape(text.footer) + "</span>";
  g_object_set(overlay.get(), "text", markup.c_str(), "shaded-background", FALSE, "draw-shadow", FALSE, nullptr);
  gst_util_set_object_arg(G_OBJECT(overlay.get()), "valignment", "center");
  gst_util_set_object_arg(G_OBJECT(overlay.get()), "halignment", "center");
  gst_util_set_object_arg(G_OBJECT(overlay.get()), "line-alignment", "center");
  gst_util_set_object_arg(G_OBJECT(overlay.get()), "wrap-mode", "word-char");
  if (!layout.png) g_object_set(enc.get(), "quality", 85, nullptr);
  const std::string tmp = out_path + ".tmp";
  g_object_set(sink.get(), "location", tmp.c_str(), nullptr);
  GstBin* bin = GST_BIN(pipeline.get());
  for (GstElement* e : {src.get(), caps.get(), overlay.get(), convert.get(), enc.get(), sink.get()}) gst_bin_add(bin, GST_ELEMENT(gst_object_ref(e)));
  if (!gst_element_link_many(src.get(), caps.get(), overlay.get(), convert.get(), enc.get(), sink.get(), nullptr))
    return "cannot link the picture card pipeline";
  std::string error;
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error = "the picture card pipeline did not start";
  } else {
    auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
    auto msg = gst::GstRef<GstMessage>::adopt(gst_bus_timed_pop_filtered(
        bus.get(), 10 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    if (!msg) {
      error = "the picture card was not made within 10 s";
    } else if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gst_message_parse_error(msg.get(), &err, nullptr);
      error = err ? err->message : "unknown GStreamer error";
      g_clear_error(&err);
    }
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  std::error_code ec;
  if (error.empty()) {
    std::filesystem::rename(tmp, out_path, ec);
    if (ec) error = "rename " + tmp + ": " + ec.message();
  }
  if (!error.empty()) std::filesystem::remove(tmp, ec);
  return error;
}

}  // namespace sreda::archive
