// Which certificate authorities relays and pulls trust (relays.ca_file): the system's (Debian's
// ca-certificates) plus, when set, the PEM file an admin names, e.g. a partner city's private CA. Certificates
// are always verified; the file only adds anchors, it never replaces the system's.
//
// GStreamer's network elements all take GIO's default TLS database: rtmp2src/rtmp2sink (GSocketClient) and
// souphttpsrc (libsoup 3's session), including the souphttpsrc that hlsdemux makes for each stream. So one
// process-wide database covers rtmps:// and https:// pulls and rtmps:// push relays alike.
#pragma once

#include <string>

#include "server/core/result.h"

namespace sreda::relay {

// Whether `path` is a readable PEM file with at least one certificate; the error names the file and why.
// For the configuration's checks at start (main.cpp: exit 2 with the other problems).
core::Result<void> check_ca_file(const std::string& path);

// Makes the system's anchors plus `path`'s GIO's default TLS database (an empty path changes nothing). Once,
// at start, before any TLS connection.
core::Result<void> trust_ca_file(const std::string& path);

// Connects to `uri`'s host and port (https:// or rtmps://) with TLS as the pulls do, and says why the handshake
// fails ("" when it succeeds or the URI is not TLS): souphttpsrc 1.22 turns a refused certificate into a bare
// "Internal data stream error". Bounded by timeout_s.
std::string tls_failure(const std::string& uri, int timeout_s);

// A TLS failure's text ("Unacceptable TLS certificate") in words a curator can act on; other text unchanged.
std::string explain_tls_error(const std::string& text);

}  // namespace sreda::relay
