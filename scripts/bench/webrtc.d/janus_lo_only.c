// LD_PRELOAD shim for Janus in scripts/bench/webrtc: Janus 1.1.2 gathers ICE candidates from getifaddrs() and
// skips every interface flagged IFF_LOOPBACK, so on its own it offers only the machine's real addresses.
// This getifaddrs() returns just the loopback interface's IPv4 address without that flag: Janus then gathers
// 127.0.0.1 and nothing else, and the bench's traffic stays on 127.0.0.1 (the media path is unchanged).
//   gcc -O2 -shared -fPIC -o janus_lo_only.so janus_lo_only.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

int getifaddrs(struct ifaddrs** out) {
  int (*real)(struct ifaddrs**) = (int (*)(struct ifaddrs**))dlsym(RTLD_NEXT, "getifaddrs");
  int rc = real(out);
  if (rc != 0) return rc;
  struct ifaddrs *head = NULL, *tail = NULL;
  for (struct ifaddrs* ifa = *out; ifa; ifa = ifa->ifa_next) {
    const int v4_lo = ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET &&
                      ((struct sockaddr_in*)ifa->ifa_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    if (!v4_lo) continue;
    ifa->ifa_flags &= ~IFF_LOOPBACK;
    if (tail) tail->ifa_next = ifa; else head = ifa;
    tail = ifa;
  }
  // The dropped entries stay allocated in the original block (freeifaddrs frees the first node's block;
  // glibc allocates the whole list in one block owned by the first node, so keep that node first).
  if (tail) tail->ifa_next = NULL;
  if (head != *out && head) {
    // glibc's freeifaddrs(p) frees p itself: put the original first node back in front, with no address.
    struct ifaddrs* first = *out;
    first->ifa_addr = NULL;
    first->ifa_next = head;
    return 0;
  }
  if (!head) (*out)->ifa_next = NULL, (*out)->ifa_addr = NULL;
  return 0;
}
