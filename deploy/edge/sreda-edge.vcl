vcl 4.1;
# sreda edge cache (Varnish 7.1, Debian 12's `varnish`): one of many edge machines in front of one origin
# (sreda's HTTP port, or the front). Viewers' players reach an edge; the edge asks the origin once per URL.
#
# What it keeps (sreda's Cache-Control decides; this file only adds what is written below):
#   /live/…/partM.N.m4s, segM.m4s, init*.mp4   "public, max-age=31536000, immutable" → kept 10 min here
#   and /archive/… files                       (live parts are not asked for after their window; a trimmed
#                                              or deleted recording's files stay reachable that long)
#   /live/…/index.m3u8?_HLS_msn=M&_HLS_part=N  "public, max-age=6": the answer to a blocking reload; the query
#                                              is part of the key (sorted), so every viewer waiting for the
#                                              same next part is ONE origin request: the others wait on
#                                              Varnish's waiting list and are woken the moment it arrives
#   /live/…/index.m3u8, /live/…/master.m3u8    "public, max-age=0, s-maxage=1": a second here, never in
#                                              browsers (sent without Age: see vcl_deliver)
#   /archive/…/*.m3u8                          as sreda says (a closed playlist 60 s)
#   an error on /live or /archive              sreda says no-store: never kept (for 1 s each request for
#                                              that URL goes to the origin, none waits for another)
#   everything else (pages, /api, /metrics)    passed to the origin, never kept; /ws piped (WebSockets)
#
# Why Varnish and not nginx 1.22, measured (scripts/bench/edge; figures in the README's "Edges for a big
# concert"): collapsing is an edge's job, and Varnish did it exactly: 1.00 origin requests per part and per
# blocking reload per edge at 1,000 and 3,000 viewers in every run. nginx's proxy_cache_lock makes the
# requests waiting on a locked key poll the cache every 500 ms (hard-coded), and a waiter still locked after
# proxy_cache_lock_timeout, or behind an answer it may not keep, goes to the origin itself: up to 1.42, and
# once 3.66, reloads per URL per edge. Varnish wakes its waiting list when the object arrives and streams it.
# Its price: about 3.5x nginx's CPU per request (~0.12 ms vs ~0.035 ms on the 2-core test machine), so size
# an edge by it (1-1.5 cores per 1,000 LL-HLS viewers at 0.2 s parts, measured). No TLS: hitch (Debian's
# `hitch`, hitch.conf here) ends HTTPS and HTTP/2 in front of it.
#
# Deploy: /etc/varnish/default.vcl = this file with the origin's address below; systemd's varnish.service
# (Debian's) runs it: `-a :6081 -s malloc,1G` (edit with `systemctl edit varnish`). Tests and the bench run it
# in the foreground with the port replaced (tests/integration/test_edge_cache_media.py, scripts/bench/edge).
import std;

backend origin {
    .host = "127.0.0.1";
    .port = "8080";
    .connect_timeout = 2s;
    # sreda holds a blocking playlist or part request up to 3 × the target duration (6 s), then answers 503.
    .first_byte_timeout = 20s;
    .between_bytes_timeout = 10s;
}

sub vcl_recv {
    # Varnish appends the viewer's address to X-Forwarded-For, and sreda walks it from the right, so a viewer
    # cannot name themselves there; but sreda believes Forwarded first, which Varnish passes as it came.
    unset req.http.forwarded;
    if (req.http.upgrade ~ "(?i)websocket") {
        return (pipe);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # sreda's Prometheus metrics (events, studios, the disk; no login) are read on the origin itself.
    if (req.url ~ "^/metrics") {
        return (synth(404, "Not Found"));
    }
    if (req.url ~ "^/(live|archive)/") {
        # Media is the same for everyone: no cookie or login makes it private.
        unset req.http.cookie;
        unset req.http.authorization;
        # _HLS_part=1&_HLS_msn=5 and _HLS_msn=5&_HLS_part=1 are the same request.
        set req.url = std.querysort(req.url);
        return (hash);
    }
    return (pass);
}

sub vcl_hash {
    # One key per URL whatever host name the viewer used (edges behind one DNS name or several).
    hash_data(req.url);
    return (lookup);
}

sub vcl_pipe {
    if (req.http.upgrade) {
        set bereq.http.upgrade = req.http.upgrade;
        set bereq.http.connection = req.http.connection;
    }
}

sub vcl_backend_response {
    if (bereq.url ~ "^/(live|archive)/") {
        # Never a stale playlist: without this Varnish would serve an expired one for 10 s (default grace).
        set beresp.grace = 0s;
        set beresp.keep = 0s;
        if (beresp.status >= 400) {
            # Never answered from here (sreda says no-store: a part asked for too early may exist a moment
            # later, and hls.js does not retry a 4xx): for 1 s the requests for this URL go to the origin
            # each (no waiting list), then it is cached again as usual.
            set beresp.ttl = 1s;
            set beresp.uncacheable = true;
            return (deliver);
        }
        if (beresp.ttl > 10m) {
            set beresp.ttl = 10m;
        }
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.x-edge-cache = "hit";
    } else {
        set resp.http.x-edge-cache = "miss";
    }
    unset resp.http.x-varnish;
    unset resp.http.via;
    # No Age on live playlists: hls.js reads it to jump its next blocking reload ahead ("CDN tune-in"), and
    # through this edge it then lost the last part of a segment and stalled (scripts/bench/edge: 5 of 6 runs
    # with Age, 0 of 3 without). A blocking answer here was held for the part it lists, and a plain playlist
    # is at most 1 s old.
    if (req.url ~ "^/live/.*\.m3u8") {
        unset resp.http.age;
    }
}
