// SPDX-License-Identifier: MIT
// pcap_gen: writes a pcap file of Ethernet/IPv4(or IPv6)/UDP frames, with
// valid IPv4 header and UDP checksums, whose
// payloads carry the project's verifiable pattern (zcrx/pattern.h), so that
// zcrxd on net_pcap (rx_pcap=FILE,infinite_rx=1) has traffic whose every
// byte a consumer can check. Sequence numbers start at --first-seq and
// increase by one per frame; destination ports rotate through --ports.
#include <arpa/inet.h>
#include <getopt.h>
#include <pcap/pcap.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "zcrx/pattern.h"

namespace {

struct Options {
  std::string out;
  uint64_t count = 10000;
  uint32_t payload = 1024;
  std::vector<uint16_t> ports{9000};
  uint16_t src_port = 40000;
  uint32_t flows = 1;  // source ports src_port .. src_port + flows - 1, in turn
  uint16_t vlan = 0;  // 0: untagged
  bool ipv6 = false;
  bool udp_csum = true;  // else 0: "none" over IPv4 (an IPv6 receiver drops it)
  uint64_t first_seq = 1;
};

void usage(FILE* out) {
  std::fprintf(out,
      "usage: pcap_gen --out FILE [options]\n"
      "Writes UDP frames with verifiable payloads (zcrx/pattern.h) to a pcap.\n\n"
      "  -o, --out FILE        pcap file to write (required)\n"
      "  -n, --count N         frames (default 10000)\n"
      "  -s, --size N          UDP payload bytes, 0..9000 (default 1024)\n"
      "  -p, --ports A,B,...   destination ports, used in turn (default 9000)\n"
      "      --src-port N      source port (default 40000)\n"
      "      --flows N         N flows: source ports --src-port .. --src-port+N-1\n"
      "                        in turn (default 1), for a flow hash to spread\n"
      "      --vlan ID         add an 802.1Q tag with this VLAN id (1..4094)\n"
      "  -6, --ipv6            IPv6 instead of IPv4\n"
      "      --no-udp-csum     UDP checksum 0 (none: fine over IPv4; Linux and\n"
      "                        zcrxd drop such IPv6 datagrams)\n"
      "      --first-seq N     sequence number of the first payload (default 1)\n"
      "  -h, --help            this text\n");
}

bool parse_u64(const char* s, uint64_t max, uint64_t* v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(s, &end, 0);
  if (errno || end == s || *end || x > max) return false;
  *v = x;
  return true;
}

bool parse_ports(const char* s, std::vector<uint16_t>* ports) {
  ports->clear();
  std::string all(s);
  size_t pos = 0;
  while (pos <= all.size()) {
    size_t comma = all.find(',', pos);
    std::string one = all.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    uint64_t v;
    if (!parse_u64(one.c_str(), 65535, &v) || v == 0) return false;
    ports->push_back(static_cast<uint16_t>(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return !ports->empty();
}

int parse_options(int argc, char** argv, Options* o) {
  enum { kSrcPort = 1000, kFlows, kVlan, kFirstSeq, kNoUdpCsum };
  static const option longopts[] = {
      {"out", required_argument, nullptr, 'o'},
      {"count", required_argument, nullptr, 'n'},
      {"size", required_argument, nullptr, 's'},
      {"ports", required_argument, nullptr, 'p'},
      {"src-port", required_argument, nullptr, kSrcPort},
      {"flows", required_argument, nullptr, kFlows},
      {"vlan", required_argument, nullptr, kVlan},
      {"ipv6", no_argument, nullptr, '6'},
      {"first-seq", required_argument, nullptr, kFirstSeq},
      {"no-udp-csum", no_argument, nullptr, kNoUdpCsum},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  int c;
  uint64_t v;
  while ((c = getopt_long(argc, argv, "o:n:s:p:6h", longopts, nullptr)) != -1) {
    switch (c) {
      case 'o': o->out = optarg; break;
      case 'n':
        if (!parse_u64(optarg, UINT64_MAX, &o->count)) return -1;
        break;
      case 's':
        if (!parse_u64(optarg, 9000, &v)) return -1;
        o->payload = static_cast<uint32_t>(v);
        break;
      case 'p':
        if (!parse_ports(optarg, &o->ports)) return -1;
        break;
      case kSrcPort:
        if (!parse_u64(optarg, 65535, &v) || v == 0) return -1;
        o->src_port = static_cast<uint16_t>(v);
        break;
      case kFlows:
        if (!parse_u64(optarg, 65535, &v) || v == 0) return -1;
        o->flows = static_cast<uint32_t>(v);
        break;
      case kVlan:
        if (!parse_u64(optarg, 4094, &v) || v == 0) return -1;
        o->vlan = static_cast<uint16_t>(v);
        break;
      case '6': o->ipv6 = true; break;
      case kNoUdpCsum: o->udp_csum = false; break;
      case kFirstSeq:
        if (!parse_u64(optarg, UINT64_MAX, &o->first_seq)) return -1;
        break;
      case 'h': usage(stdout); std::exit(0);
      default: return -1;
    }
  }
  if (optind != argc || o->out.empty()) return -1;
  if (uint32_t{o->src_port} + o->flows - 1 > 65535) return -1;  // the last source port must exist
  return 0;
}

// Big-endian stores into a frame under construction.
void put16(uint8_t* p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
void put32(uint8_t* p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }

// The ones'-complement sum (RFC 1071) of `len` bytes, added to `sum`.
uint32_t add_sum(uint32_t sum, const uint8_t* p, size_t len) {
  for (size_t i = 0; i < len; i += 2) {
    sum += static_cast<uint32_t>(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return sum;
}

uint16_t ipv4_checksum(const uint8_t* hdr, size_t len) {
  return static_cast<uint16_t>(~add_sum(0, hdr, len));
}

// The UDP checksum of the `udp_len` bytes at `udp` (checksum field 0)
// between addresses of `alen` bytes; 0xffff for a computed 0 (RFC 768).
uint16_t udp_checksum(const uint8_t* src, const uint8_t* dst, size_t alen,
                      const uint8_t* udp, uint16_t udp_len) {
  const uint8_t tail[4] = {0, 17, static_cast<uint8_t>(udp_len >> 8),
                           static_cast<uint8_t>(udp_len & 0xff)};
  uint32_t sum = add_sum(add_sum(add_sum(0, src, alen), dst, alen), tail, 4);
  const auto c = static_cast<uint16_t>(~add_sum(sum, udp, udp_len));
  return c == 0 ? 0xffff : c;
}

// Writes the L2-L4 headers for one frame; returns the header length.
size_t build_headers(const Options& o, uint16_t src_port, uint16_t dst_port, uint8_t* f) {
  static const uint8_t kDstMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  static const uint8_t kSrcMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  size_t n = 0;
  std::memcpy(f, kDstMac, 6);
  std::memcpy(f + 6, kSrcMac, 6);
  n = 12;
  if (o.vlan) {
    put16(f + n, 0x8100);
    put16(f + n + 2, o.vlan);
    n += 4;
  }
  put16(f + n, o.ipv6 ? 0x86dd : 0x0800);
  n += 2;
  const uint16_t udp_len = static_cast<uint16_t>(8 + o.payload);
  if (o.ipv6) {
    uint8_t* ip = f + n;
    std::memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, udp_len);
    ip[6] = 17;  // UDP
    ip[7] = 64;
    ip[8] = 0xfd; ip[23] = 1;   // fd00::1
    ip[24] = 0xfd; ip[39] = 2;  // fd00::2
    n += 40;
  } else {
    uint8_t* ip = f + n;
    std::memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(20 + udp_len));
    ip[8] = 64;
    ip[9] = 17;  // UDP
    put32(ip + 12, 0x0a000001);  // 10.0.0.1
    put32(ip + 16, 0x0a000002);  // 10.0.0.2
    put16(ip + 10, ipv4_checksum(ip, 20));
    n += 20;
  }
  uint8_t* udp = f + n;
  put16(udp, src_port);
  put16(udp + 2, dst_port);
  put16(udp + 4, udp_len);
  put16(udp + 6, 0);  // the checksum, once the payload is there (finish_udp)
  return n + 8;
}

// Writes the UDP checksum of the frame whose headers take `hdr` bytes.
void finish_udp(const Options& o, uint8_t* f, size_t hdr) {
  if (!o.udp_csum) return;
  uint8_t* udp = f + hdr - 8;
  const uint16_t udp_len = static_cast<uint16_t>(8 + o.payload);
  const uint8_t* ip = udp - (o.ipv6 ? 40 : 20);
  const size_t alen = o.ipv6 ? 16 : 4;
  const uint8_t* src = ip + (o.ipv6 ? 8 : 12);
  put16(udp + 6, udp_checksum(src, src + alen, alen, udp, udp_len));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (parse_options(argc, argv, &o) != 0) {
    usage(stderr);
    return 2;
  }
  // libpcap writes the file: host byte order, microsecond timestamps,
  // Ethernet, snaplen 65535.
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* out = dead ? pcap_dump_open(dead, o.out.c_str()) : nullptr;
  if (!out) {
    // libpcap's message names the file.
    std::fprintf(stderr, "pcap_gen: %s\n", dead ? pcap_geterr(dead) : "pcap_open_dead failed");
    if (dead) pcap_close(dead);
    return 1;
  }
  std::vector<uint8_t> frame(14 + 4 + 40 + 8 + o.payload);
  for (uint64_t i = 0; i < o.count; i++) {
    uint16_t port = o.ports[i % o.ports.size()];
    const auto src = static_cast<uint16_t>(o.src_port + i % o.flows);
    size_t hdr = build_headers(o, src, port, frame.data());
    zcrx::pattern::fill(frame.data() + hdr, o.payload, o.first_seq + i);
    finish_udp(o, frame.data(), hdr);
    pcap_pkthdr rec{};
    rec.ts.tv_sec = static_cast<time_t>(i / 1000000);
    rec.ts.tv_usec = static_cast<suseconds_t>(i % 1000000);
    rec.caplen = rec.len = static_cast<uint32_t>(hdr + o.payload);
    pcap_dump(reinterpret_cast<u_char*>(out), &rec, frame.data());
  }
  // pcap_dump reports nothing: the stream's error flag and the flush do.
  bool ok = pcap_dump_flush(out) == 0 && !std::ferror(pcap_dump_file(out));
  pcap_dump_close(out);
  pcap_close(dead);
  if (!ok) {
    std::fprintf(stderr, "pcap_gen: writing %s failed\n", o.out.c_str());
    return 1;
  }
  std::printf("pcap_gen: wrote %" PRIu64 " frames of %u payload bytes to %s\n", o.count,
              o.payload, o.out.c_str());
  return 0;
}
