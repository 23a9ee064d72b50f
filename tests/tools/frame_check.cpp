// SPDX-License-Identifier: MIT
// frame_check: what a userspace stack behind AF_PACKET (or a PMD that wrote
// a pcap) really receives on an interface: frame sizes against the MTU,
// IPv4 header and TCP/UDP checksums, and frames the kernel marked
// "checksum not ready" (offload left it to hardware that is not there).
// Used to prove the offload settings of tcp_netns.sh, and that a wrong
// setting is caught. See --help.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "frame_csum.h"

namespace {

using zcrx::tools::check_checksums;
using zcrx::tools::parse_frame;

std::atomic<bool> g_stop{false};
// Relaxed: the capture loop polls it; nothing else travels with it.
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

struct Options {
  std::string ifname;
  std::string pcap;
  unsigned mtu = 1500;
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
  uint64_t min_frames = 1;
  uint64_t min_full = 0;
  unsigned port = 0;      // only TCP/UDP frames with this port (0: all)
};

struct Tally {
  uint64_t frames = 0, outgoing = 0, ip = 0, tcp = 0, udp = 0, full_size = 0;
  uint64_t max_frame = 0, max_ip_len = 0;
  uint64_t oversize = 0, truncated = 0, bad_ip_csum = 0, bad_l4_csum = 0, csum_not_ready = 0;
  uint64_t ring_drops = 0;
};

const char* kUsage =
    "usage: frame_check (--if IFACE | --pcap FILE) [--mtu N] [--duration S]\n"
    "                   [--min-frames N] [--min-full N] [--port P]\n"
    "Checks every received IPv4/IPv6 TCP/UDP frame: no larger than the MTU (+14 B\n"
    "MAC header, +4 per VLAN tag), IPv4 header checksum right, TCP/UDP checksum\n"
    "complete and right, not marked TP_STATUS_CSUMNOTREADY. Outgoing frames are\n"
    "skipped. --if captures in the current network namespace for --duration\n"
    "seconds (or until SIGINT/SIGTERM; prints READY once capturing); --pcap reads\n"
    "a capture file (e.g. written by DPDK's net_pcap behind a PMD).\n"
    "  --min-frames N  require N TCP/UDP frames (default 1)\n"
    "  --min-full N    require N frames whose IP packet is exactly --mtu long\n"
    "  --port P        count only TCP/UDP frames from or to port P\n"
    "Prints RESULT {json}; exit 0 only when nothing was wrong and the minimums met.\n";

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void check_frame(const Options& o, const uint8_t* f, size_t caplen, size_t len, uint32_t status,
                 Tally& t) {
  const auto l = parse_frame(f, caplen);
  if (caplen < len) {
    t.truncated++;
    return;
  }
  if (!l) {
    // Shorter than its own IP header claims: a frame cut short in flight.
    if (len >= 14 && (be16(f + 12) == 0x0800 || be16(f + 12) == 0x86dd)) t.truncated++;
    return;
  }
  if (!l->ipv4 && !l->ipv6) return;
  const bool tcp = l->l4_proto == IPPROTO_TCP, udp = l->l4_proto == IPPROTO_UDP;
  if (o.port && (tcp || udp) && l->l4_len >= 4) {
    const unsigned sport = be16(f + l->l4_off), dport = be16(f + l->l4_off + 2);
    if (sport != o.port && dport != o.port) return;
  } else if (o.port) {
    return;
  }
  t.frames++;
  t.ip++;
  t.tcp += tcp;
  t.udp += udp;
  const size_t ip_len = l->ip_end - l->l3_off;
  t.max_frame = std::max<uint64_t>(t.max_frame, len);
  t.max_ip_len = std::max<uint64_t>(t.max_ip_len, ip_len);
  if (ip_len == o.mtu) t.full_size++;
  if (len > o.mtu + 14 + 4 * l->vlan_tags) t.oversize++;
  if (status & TP_STATUS_CSUMNOTREADY) {
    t.csum_not_ready++;  // its checksum is expected to be incomplete
    return;
  }
  const auto s = check_checksums(f, *l);
  if (s.ip_checked && !s.ip_ok) t.bad_ip_csum++;
  if (s.l4_checked && !s.l4_ok) t.bad_l4_csum++;
}

uint64_t now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

int capture(const Options& o, Tally& t) {
  const unsigned ifindex = if_nametoindex(o.ifname.c_str());
  if (!ifindex) {
    std::fprintf(stderr, "frame_check: %s: %s\n", o.ifname.c_str(), std::strerror(errno));
    return -1;
  }
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  const int one = 1, rcvbuf = 64 << 20;
  if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
    std::fprintf(stderr, "frame_check: AF_PACKET socket: %s\n", std::strerror(errno));
    return -1;
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    std::fprintf(stderr, "frame_check: bind: %s\n", std::strerror(errno));
    return -1;
  }
  std::printf("READY %s\n", o.ifname.c_str());
  std::fflush(stdout);
  std::vector<uint8_t> buf(1 << 17);
  const uint64_t end = o.duration_s > 0 ? now_us() + static_cast<uint64_t>(o.duration_s * 1e6)
                                        : UINT64_MAX;
  while (!g_stop.load(std::memory_order_relaxed) && now_us() < end) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0) continue;
    for (;;) {
      iovec iov{buf.data(), buf.size()};
      alignas(tpacket_auxdata) uint8_t cbuf[CMSG_SPACE(sizeof(tpacket_auxdata))];
      sockaddr_ll from{};
      msghdr m{};
      m.msg_name = &from;
      m.msg_namelen = sizeof from;
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = cbuf;
      m.msg_controllen = sizeof cbuf;
      const ssize_t n = recvmsg(fd, &m, MSG_TRUNC | MSG_DONTWAIT);
      if (n < 0) break;
      uint32_t status = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
          tpacket_auxdata aux;
          std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
          status = aux.tp_status;
        }
      if (from.sll_pkttype == PACKET_OUTGOING) {
        t.outgoing++;
        continue;
      }
      const size_t len = static_cast<size_t>(n);
      check_frame(o, buf.data(), std::min(len, buf.size()), len, status, t);
    }
  }
  tpacket_stats st{};
  socklen_t sl = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0) t.ring_drops = st.tp_drops;
  close(fd);
  return 0;
}

// libpcap reads the file (either byte order, micro- or nanosecond).
int read_pcap(const Options& o, Tally& t) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(o.pcap.c_str(), errbuf);
  if (!p) {
    std::fprintf(stderr, "frame_check: %s: %s\n", o.pcap.c_str(), errbuf);
    return -1;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) check_frame(o, data, h->caplen, h->len, 0, t);
  if (rc != PCAP_ERROR_BREAK)
    std::fprintf(stderr, "frame_check: %s: %s\n", o.pcap.c_str(), pcap_geterr(p));
  pcap_close(p);
  return 0;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--if") o.ifname = v;
    else if (a == "--pcap") o.pcap = v;
    else if (a == "--mtu") o.mtu = static_cast<unsigned>(std::strtoul(v, nullptr, 0));
    else if (a == "--duration") o.duration_s = std::strtod(v, nullptr);
    else if (a == "--min-frames") o.min_frames = std::strtoull(v, nullptr, 0);
    else if (a == "--min-full") o.min_full = std::strtoull(v, nullptr, 0);
    else if (a == "--port") o.port = static_cast<unsigned>(std::strtoul(v, nullptr, 0));
    else return false;
  }
  return o.ifname.empty() != o.pcap.empty() && o.mtu >= 68;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, o)) {
    std::fprintf(stderr, "frame_check: bad arguments (see --help)\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Tally t;
  if ((o.pcap.empty() ? capture(o, t) : read_pcap(o, t)) < 0) return 1;
  std::printf("RESULT {\"frames\":%" PRIu64 ",\"tcp\":%" PRIu64 ",\"udp\":%" PRIu64
              ",\"outgoing\":%" PRIu64 ",\"max_frame\":%" PRIu64 ",\"max_ip_len\":%" PRIu64
              ",\"full_size\":%" PRIu64 ",\"oversize\":%" PRIu64 ",\"truncated\":%" PRIu64
              ",\"bad_ip_csum\":%" PRIu64 ",\"bad_l4_csum\":%" PRIu64
              ",\"csum_not_ready\":%" PRIu64 ",\"ring_drops\":%" PRIu64 "}\n",
              t.frames, t.tcp, t.udp, t.outgoing, t.max_frame, t.max_ip_len, t.full_size,
              t.oversize, t.truncated, t.bad_ip_csum, t.bad_l4_csum, t.csum_not_ready,
              t.ring_drops);
  const bool wrong = t.oversize || t.truncated || t.bad_ip_csum || t.bad_l4_csum ||
                     t.csum_not_ready;
  const bool enough = t.tcp + t.udp >= o.min_frames && t.full_size >= o.min_full;
  return !wrong && enough ? 0 : 1;
}
