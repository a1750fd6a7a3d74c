// Every http(s) request GStreamer makes in this process is held to relays.allowed_hosts, request by request.
//
// An HLS pull's playlists name segment and part URIs that hlsdemux fetches by itself, on each refresh, with a
// souphttpsrc it makes through gst_element_make_from_uri: a later playlist could name an internal host, or a
// server could redirect there. So sreda registers "sredahttpsrc", a subclass of souphttpsrc ranked above it
// (the one any http(s) URI gets), which:
//   - before each request (create, and the HEAD that is_seekable/get_size may send) resolves the location's
//     host and checks it (resolve_allowed); a refused host posts an element message kHttpRefused with its
//     reason in words (on the pipeline's bus: hlsdemux keeps its sources' errors to itself) and an error;
//   - follows no redirects (automatic-redirect off): a 3xx is an error whose reason names the redirect.
// Registered once, after gst_init (App::start_relays). Until set_http_destinations, public addresses only.
#pragma once

#include <memory>
#include <string>

#include "server/core/result.h"
#include "server/relay/relay_url.h"

namespace sreda::relay {

inline constexpr const char* kGuardedHttpSource = "sredahttpsrc";
inline constexpr const char* kHttpRefused = "sreda-http-refused";  // element message: "reason" (string)

core::Result<void> register_guarded_http_source();
void set_http_destinations(std::shared_ptr<const Destinations> allowed);

// "http://user@[::1]:8080/a" → "::1" (lower case, like parse_url's hosts); empty without a host.
std::string host_of_uri(const std::string& uri);

}  // namespace sreda::relay
