#!/usr/bin/python3
"""scripts/bench/relay's latency probe: when each video frame arrives at the target, matched by content.

  arrivals.py record URL OUT     read an RTMP stream from nginx-rtmp (ffmpeg, no decoding) until killed or the
                                 stream ends; for each video packet write "<CLOCK_MONOTONIC ns> <md5>" to OUT
  arrivals.py match DIRECT RELAYED… [SKIP_S]
                                 pair the frames of each RELAYED file with DIRECT's by md5 and print
                                 "<matched> <p50 ms> <p95 ms> <frames direct> <frames relayed min>": the delay of
                                 the relayed copy of a frame after the studio's own copy of it reached the target

The md5 is of the frame's coded slices only (ffmpeg's filter_units keeps NAL types 1-5): a relay that passes
the video through unchanged delivers the same slices, even when it re-muxes, re-times the stream or inserts
parameter sets or access unit delimiters. Frames arriving in a reader's first SKIP_S seconds (default 5) are
left out: ffmpeg probes the stream first and hands those frames over in a burst.
"""
import signal
import subprocess
import sys
import time


def record(url, out):
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-rw_timeout", "120000000", "-i", url,
           "-map", "0:v:0", "-c", "copy", "-bsf:v", "filter_units=pass_types=1-5", "-f", "framemd5",
           "-flush_packets", "1", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    # ffmpeg stops on one SIGTERM only between packets: an idle reader (the stream ended) needs SIGKILL; its
    # output is a pipe, nothing to finalise.
    signal.signal(signal.SIGTERM, lambda *_: proc.kill())
    with open(out, "w", buffering=1) as f:
        for raw in proc.stdout:
            now = time.monotonic_ns()
            line = raw.decode("ascii", "replace").strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) >= 6:
                f.write(f"{now} {parts[5]}\n")
    proc.wait()


def load(path, skip_s):
    rows = []
    with open(path) as f:
        for line in f:
            t, h = line.split()
            rows.append((int(t), h))
    if not rows:
        return {}, 0
    start = rows[0][0] + int(skip_s * 1e9)
    first = {}
    for t, h in rows:
        if t >= start and h not in first:
            first[h] = t
    return first, len(rows)


def match(direct, relayed, skip_s):
    d, nd = load(direct, skip_s)
    delays, counts = [], []
    for path in relayed:
        r, nr = load(path, skip_s)
        counts.append(nr)
        delays += [(t - d[h]) / 1e6 for h, t in r.items() if h in d]
    delays.sort()
    if not delays:
        print(f"0 n/a n/a {nd} {min(counts) if counts else 0}")
        return

    def rank(p):  # nearest rank
        return delays[max(0, min(len(delays) - 1, int(round(p * len(delays) + 0.5)) - 1))]
    print(f"{len(delays)} {rank(0.50):.0f} {rank(0.95):.0f} {nd} {min(counts)}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "match":
        args = sys.argv[2:]
        skip = float(args.pop()) if len(args) >= 3 and args[-1].replace(".", "", 1).isdigit() else 5.0
        match(args[0], args[1:], skip)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
