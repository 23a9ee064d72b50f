// SPDX-License-Identifier: MIT
#include "options.h"

#include <getopt.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>

#include "zcrx/proto.h"

namespace zcrxd {

void print_usage(FILE* out) {
  std::fprintf(out,
      "usage: zcrxd [EAL options] -- [zcrxd options]\n"
      "DPDK primary that owns RX queues and hands their packets, zero-copy,\n"
      "to consumer processes through io_uring zcrx-layout rings. Consumers\n"
      "connect to the control socket (SOCK_SEQPACKET, see zcrx/proto.h).\n"
      "\n"
      "EAL options (before --), e.g.:\n"
      "  --no-huge -m 512         run without hugepages\n"
      "  --vdev net_pcap0,rx_pcap=FILE   --vdev net_af_packet0,iface=IF\n"
      "  -a PCI_ADDR              use a PCI NIC    --file-prefix NAME  -l CORES\n"
      "\n"
      "zcrxd options (after --):\n"
      "  --port N            ethdev port to serve (default 0)\n"
      "  --queue LIST        RX queues of that port to serve (default 0): N,\n"
      "                      N,M,... or ranges A-B, e.g. 0,2-3; at most %u,\n"
      "                      each on its own datapath lcore (worker lcores\n"
      "                      first, then EAL-registered threads)\n"
      "  --socket PATH       control socket (default $XDG_RUNTIME_DIR/zcrx/\n"
      "                      zcrxd.sock, else /run/zcrx/zcrxd.sock)\n"
      "  --socket-mode OCTAL permissions of the socket (default 0600)\n"
      "  --socket-group NAME group owning the socket (default: unchanged)\n"
      "  --burst N           packets per rx burst, 1..%u (default 32)\n"
      "  --stats SECONDS     print counters every SECONDS (default 0: at exit)\n"
      "  --rx-timestamp      put the TSC read after rx_burst in each CQE's\n"
      "                      io_uring_zcrx_cqe.__pad (latency measurement)\n"
      "  --rx-desc N         RX descriptors of each served queue (default 1024)\n"
      "  --rx-gate N         poll the queue only once N RECV_ZC requests are\n"
      "                      armed (finite sources such as a pcap file); with\n"
      "                      several queues on a port that cannot set queues up\n"
      "                      while running, the port also starts only once every\n"
      "                      served queue has an area (a restart rewinds net_pcap)\n"
      "  --inject PCAP[,loops=N]\n"
      "                      once the first area is bound, transmit the pcap's\n"
      "                      frames on TX queue 0 of the port, N times (default\n"
      "                      1; 0: forever), no faster than they are taken: a\n"
      "                      traffic source for net_ring, whose TX comes back\n"
      "                      on its RX queue (frames are copied into the area)\n"
      "  --copy-mode MODE    auto (default): when a PMD refuses a pool over the\n"
      "                      consumer's area (net_af_xdp; -EINVAL, -EOPNOTSUPP),\n"
      "                      the queue receives into a private pool and every\n"
      "                      packet is copied into the area (mode=copy), as the\n"
      "                      kernel copies when it cannot receive into the\n"
      "                      zcrx area; off: such a registration fails with\n"
      "                      that errno; always: copy mode from the start\n"
      "  --sq-idle-ms MS     stop polling a ring's SQ once it stayed empty MS ms\n"
      "                      (default 10; 0: never): the ring's SQ flags then\n"
      "                      carry IORING_SQ_NEED_WAKEUP and libzcrx wakes it on\n"
      "                      its next submit, as with an io_uring SQPOLL thread\n"
      "Limits (each refusal is logged and counted; see docs/ARCHITECTURE.md):\n"
      "  --max-rings N             connections in total (default 1024; ENFILE)\n"
      "  --max-rings-per-uid N     connections of one uid (default 256; EMFILE)\n"
      "  --max-exports N           live export fds in total (default 1024; ENFILE)\n"
      "  --max-exports-per-ring N  live export fds one ring made (default 64;\n"
      "                            EMFILE)\n"
      "  --max-entries-per-uid N   clone/import entries one uid may hold on an\n"
      "                            ifq another uid registered (default 32; EMFILE)\n"
      "  --max-region-mb-per-uid N ring and refill-queue memory zcrxd creates\n"
      "                            for one uid, MiB (default 1024; ENOMEM)\n"
      "  --rx-csum MODE      checksums of UDP datagrams for UDP flows, dropped\n"
      "                      and counted when wrong, as Linux does (IPv4 header,\n"
      "                      UDP; an IPv6 UDP checksum of 0 is always dropped):\n"
      "                      auto (default): the PMD's verdict where it gives\n"
      "                      one (RX checksum offloads on when it has them),\n"
      "                      else software; sw: always in software; off: trust\n"
      "                      the link, check nothing (unlike the kernel)\n"
      "  --frag-max N        IP fragments of UDP datagrams are reassembled in\n"
      "                      their buffers: at most N datagrams (1..4096) under\n"
      "                      way per queue, %u fragments each (default 64)\n"
      "  --frag-timeout-ms N a datagram's fragments wait at most N ms (1..\n"
      "                      60000, default 1000; Linux: 30 s) for the rest\n"
      "  --ip A.B.C.D/PREFIX an IPv4 address zcrxd owns on the port (repeat for\n"
      "                      up to 4): turns the TCP endpoint on (sockets,\n"
      "                      ARP, ICMP echo); without it zcrxd serves no TCP\n"
      "  --gateway A.B.C.D   default gateway (on-link for one --ip prefix)\n"
      "  --mtu N             IP MTU (68..65535, default: the port's)\n"
      "  --tcp-max-conns N   TCP connections per queue, any state (1..65536,\n"
      "                      default 1024)\n"
      "  --tcp-rcvbuf BYTES  receive window ceiling (64K..64M, default 4M)\n"
      "  --tcp-sndbuf BYTES  send buffer per connection (16K..16M, default 1M)\n"
      "  --tcp-time-wait-ms N  TIME-WAIT length (1..120000, default 1000;\n"
      "                      Linux: 60 s)\n"
      "  --tcp-congestion newreno|cubic  congestion control (default newreno)\n"
      "  --tcp-backlog-max N LISTEN backlog ceiling (1..1024, default 1024)\n"
      "  --help              this text\n"
      "\n"
      "Prints \"zcrxd: ready socket=PATH\" when it accepts consumers.\n"
      "SIGINT/SIGTERM: clean shutdown; final counters are printed.\n",
      kMaxQueues, kMaxBurst, kMaxFragments);
}

bool wants_help(int argc, char** argv) {
  int first = 1;
  for (int i = 1; i < argc; i++)
    if (std::strcmp(argv[i], "--") == 0) { first = i + 1; break; }
  for (int i = first; i < argc; i++)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
  return false;
}

namespace {

// More rings than this would need more descriptors than zcrxd can hold.
constexpr uint64_t kMaxRingsLimit = 1u << 16;

bool parse_uint(const char* s, int base, uint64_t max, uint64_t* v) {
  if (!s || !*s || *s == '-' || *s == '+') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(s, &end, base);
  if (errno || *end || x > max) return false;
  *v = x;
  return true;
}

// A byte count: decimal, with an optional K, M or G suffix (powers of 2).
bool parse_size(const char* s, uint64_t* v) {
  if (!s || !*s || *s < '0' || *s > '9') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(s, &end, 10);
  if (errno) return false;
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10;
  else if (*end == 'M' || *end == 'm') shift = 20;
  else if (*end == 'G' || *end == 'g') shift = 30;
  if (shift) end++;
  if (*end || x > (uint64_t{1} << 40) >> shift) return false;
  *v = uint64_t{x} << shift;
  return true;
}

// One decimal number of a queue list: digits only.
bool parse_queue_index(const char* b, const char* e, uint32_t* v) {
  if (b == e || e - b > 5) return false;
  uint32_t x = 0;
  for (const char* p = b; p < e; p++) {
    if (*p < '0' || *p > '9') return false;
    x = x * 10 + static_cast<uint32_t>(*p - '0');
  }
  *v = x;
  return true;
}

enum Opt : int {
  kPort = 256, kQueue, kSocket, kSocketMode, kSocketGroup, kBurst, kStats,
  kRxTimestamp, kRxDesc, kRxGate, kInject, kCopyMode, kRxCsum, kFragMax, kFragTimeout,
  kMaxRings, kMaxRingsPerUid, kMaxExports, kMaxExportsPerRing, kMaxEntriesPerUid,
  kMaxRegionMbPerUid, kSqIdleMs, kIp, kGateway, kMtu, kTcpMaxConns, kTcpRcvbuf,
  kTcpSndbuf, kTcpTimeWait, kTcpCongestion, kTcpBacklogMax, kHelp,
};

}  // namespace

int parse_queue_list(const char* s, std::vector<uint16_t>* out, FILE* err) {
  static_assert(kMaxQueues == 16 && kMaxQueueIndex == 1023, "the reasons below name them");
  std::vector<uint16_t> q;
  auto fail = [&](const char* why) {
    std::fprintf(err, "zcrxd: invalid --queue '%s': %s\n", s ? s : "", why);
    return -EINVAL;
  };
  if (!s || !*s) return fail("empty");
  const char* p = s;
  for (;;) {
    const char* end = std::strchr(p, ',');
    if (!end) end = p + std::strlen(p);
    const char* dash = std::find(p, end, '-');
    uint32_t a = 0, b = 0;
    if (!parse_queue_index(p, dash, &a)) return fail("expected N or A-B between commas");
    b = a;
    if (dash != end && !parse_queue_index(dash + 1, end, &b))
      return fail("expected N or A-B between commas");
    if (a > kMaxQueueIndex || b > kMaxQueueIndex) return fail("queue index above 1023");
    if (a > b) return fail("range A-B with A > B");
    for (uint32_t x = a; x <= b; x++) {
      if (std::find(q.begin(), q.end(), x) != q.end()) return fail("a queue named twice");
      if (q.size() == kMaxQueues) return fail("more than 16 queues");
      q.push_back(static_cast<uint16_t>(x));
    }
    if (!*end) break;
    p = end + 1;
  }
  std::sort(q.begin(), q.end());
  *out = std::move(q);
  return 0;
}

int parse_inject(const char* s, std::string* path, uint32_t* loops, FILE* err) {
  auto fail = [&](const char* why) {
    std::fprintf(err, "zcrxd: invalid --inject '%s': %s\n", s ? s : "", why);
    return -EINVAL;
  };
  if (!s || !*s || *s == ',') return fail("no pcap file named");
  const char* comma = std::strchr(s, ',');
  uint32_t n = 1;
  if (comma) {
    static constexpr char kKey[] = "loops=";
    if (std::strncmp(comma + 1, kKey, sizeof(kKey) - 1) != 0)
      return fail("expected PCAP or PCAP,loops=N");
    uint64_t v = 0;
    if (!parse_uint(comma + 1 + sizeof(kKey) - 1, 10, 1000000000, &v))
      return fail("loops=N takes a number 0..1000000000 (0: forever)");
    n = static_cast<uint32_t>(v);
  }
  *path = comma ? std::string(s, comma) : std::string(s);
  *loops = n;
  return 0;
}

int parse_copy_mode(const char* s, CopyMode* out, FILE* err) {
  static constexpr CopyMode kModes[] = {CopyMode::kAuto, CopyMode::kOff, CopyMode::kAlways};
  for (CopyMode m : kModes)
    if (s && std::strcmp(s, copy_mode_name(m)) == 0) {
      *out = m;
      return 0;
    }
  std::fprintf(err, "zcrxd: invalid --copy-mode '%s': expected auto, off or always\n",
               s ? s : "");
  return -EINVAL;
}

const char* copy_mode_name(CopyMode m) {
  switch (m) {
    case CopyMode::kOff: return "off";
    case CopyMode::kAlways: return "always";
    case CopyMode::kAuto: break;
  }
  return "auto";
}

int parse_rx_csum(const char* s, RxCsum* out, FILE* err) {
  static constexpr RxCsum kModes[] = {RxCsum::kAuto, RxCsum::kSoftware, RxCsum::kOff};
  for (RxCsum m : kModes)
    if (s && std::strcmp(s, rx_csum_name(m)) == 0) {
      *out = m;
      return 0;
    }
  std::fprintf(err, "zcrxd: invalid --rx-csum '%s': expected auto, sw or off\n", s ? s : "");
  return -EINVAL;
}

const char* rx_csum_name(RxCsum m) {
  switch (m) {
    case RxCsum::kSoftware: return "sw";
    case RxCsum::kOff: return "off";
    case RxCsum::kAuto: break;
  }
  return "auto";
}

int parse_options(int argc, char** argv, Options* o, FILE* err) {
  static const option longopts[] = {
      {"port", required_argument, nullptr, kPort},
      {"queue", required_argument, nullptr, kQueue},
      {"socket", required_argument, nullptr, kSocket},
      {"socket-mode", required_argument, nullptr, kSocketMode},
      {"socket-group", required_argument, nullptr, kSocketGroup},
      {"burst", required_argument, nullptr, kBurst},
      {"stats", required_argument, nullptr, kStats},
      {"rx-timestamp", no_argument, nullptr, kRxTimestamp},
      {"rx-desc", required_argument, nullptr, kRxDesc},
      {"rx-gate", required_argument, nullptr, kRxGate},
      {"inject", required_argument, nullptr, kInject},
      {"copy-mode", required_argument, nullptr, kCopyMode},
      {"max-rings", required_argument, nullptr, kMaxRings},
      {"max-rings-per-uid", required_argument, nullptr, kMaxRingsPerUid},
      {"max-exports", required_argument, nullptr, kMaxExports},
      {"max-exports-per-ring", required_argument, nullptr, kMaxExportsPerRing},
      {"max-entries-per-uid", required_argument, nullptr, kMaxEntriesPerUid},
      {"max-region-mb-per-uid", required_argument, nullptr, kMaxRegionMbPerUid},
      {"sq-idle-ms", required_argument, nullptr, kSqIdleMs},
      {"rx-csum", required_argument, nullptr, kRxCsum},
      {"frag-max", required_argument, nullptr, kFragMax},
      {"frag-timeout-ms", required_argument, nullptr, kFragTimeout},
      {"ip", required_argument, nullptr, kIp},
      {"gateway", required_argument, nullptr, kGateway},
      {"mtu", required_argument, nullptr, kMtu},
      {"tcp-max-conns", required_argument, nullptr, kTcpMaxConns},
      {"tcp-rcvbuf", required_argument, nullptr, kTcpRcvbuf},
      {"tcp-sndbuf", required_argument, nullptr, kTcpSndbuf},
      {"tcp-time-wait-ms", required_argument, nullptr, kTcpTimeWait},
      {"tcp-congestion", required_argument, nullptr, kTcpCongestion},
      {"tcp-backlog-max", required_argument, nullptr, kTcpBacklogMax},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0}};
  // getopt keeps global state; rte_eal_init already used it.
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, nullptr)) != -1) {
    uint64_t v = 0;
    auto bad = [&](const char* what) {
      std::fprintf(err, "zcrxd: invalid %s '%s'\n", what, optarg ? optarg : "");
      return -EINVAL;
    };
    switch (c) {
      case kPort:
        if (!parse_uint(optarg, 0, UINT16_MAX - 1, &v)) return bad("--port");
        o->port = static_cast<uint16_t>(v);
        break;
      case kQueue:
        if (int rc = parse_queue_list(optarg, &o->queues, err)) return rc;
        break;
      case kSocket:
        if (!*optarg || std::strlen(optarg) >= 108) return bad("--socket");
        o->socket_path = optarg;
        break;
      case kSocketMode:
        if (!parse_uint(optarg, 8, 0777, &v)) return bad("--socket-mode");
        o->socket_mode = static_cast<uint32_t>(v);
        break;
      case kSocketGroup:
        if (!*optarg) return bad("--socket-group");
        o->socket_group = optarg;
        break;
      case kBurst:
        if (!parse_uint(optarg, 0, kMaxBurst, &v) || v == 0) return bad("--burst");
        o->burst = static_cast<uint32_t>(v);
        break;
      case kStats:
        if (!parse_uint(optarg, 0, 86400, &v)) return bad("--stats");
        o->stats_seconds = static_cast<uint32_t>(v);
        break;
      case kRxTimestamp:
        o->rx_timestamp = true;
        break;
      case kRxDesc:
        if (!parse_uint(optarg, 0, 32768, &v) || v < 32) return bad("--rx-desc");
        o->rx_desc = static_cast<uint32_t>(v);
        break;
      case kRxGate:
        if (!parse_uint(optarg, 0, 1u << 20, &v)) return bad("--rx-gate");
        o->rx_gate = static_cast<uint32_t>(v);
        break;
      case kInject:
        if (int rc = parse_inject(optarg, &o->inject_path, &o->inject_loops, err)) return rc;
        break;
      case kCopyMode:
        if (int rc = parse_copy_mode(optarg, &o->copy_mode, err)) return rc;
        break;
      case kMaxRings:
        if (!parse_uint(optarg, 0, kMaxRingsLimit, &v) || v == 0) return bad("--max-rings");
        o->limits.max_rings = static_cast<uint32_t>(v);
        break;
      case kMaxRingsPerUid:
        if (!parse_uint(optarg, 0, kMaxRingsLimit, &v) || v == 0)
          return bad("--max-rings-per-uid");
        o->limits.max_rings_per_uid = static_cast<uint32_t>(v);
        break;
      case kMaxExports:
        if (!parse_uint(optarg, 0, 1u << 20, &v)) return bad("--max-exports");
        o->limits.max_exports = static_cast<uint32_t>(v);
        break;
      case kMaxExportsPerRing:
        if (!parse_uint(optarg, 0, 1u << 20, &v)) return bad("--max-exports-per-ring");
        o->limits.max_exports_per_ring = static_cast<uint32_t>(v);
        break;
      case kMaxEntriesPerUid:
        if (!parse_uint(optarg, 0, 1u << 20, &v)) return bad("--max-entries-per-uid");
        o->limits.max_entries_per_uid = static_cast<uint32_t>(v);
        break;
      case kMaxRegionMbPerUid:
        if (!parse_uint(optarg, 0, 1u << 30, &v) || v == 0)
          return bad("--max-region-mb-per-uid");
        o->limits.max_region_mb_per_uid = v;
        break;
      case kSqIdleMs:
        if (!parse_uint(optarg, 0, 3600000, &v)) return bad("--sq-idle-ms");
        o->sq_idle_ms = static_cast<uint32_t>(v);
        break;
      case kRxCsum:
        if (int rc = parse_rx_csum(optarg, &o->rx_csum, err)) return rc;
        break;
      case kFragMax:
        if (!parse_uint(optarg, 0, 4096, &v) || v == 0) return bad("--frag-max");
        o->frag_max = static_cast<uint32_t>(v);
        break;
      case kFragTimeout:
        if (!parse_uint(optarg, 0, 60000, &v) || v == 0) return bad("--frag-timeout-ms");
        o->frag_timeout_ms = static_cast<uint32_t>(v);
        break;
      case kIp:
        if (parse_ip_option(optarg, &o->net, err)) return -EINVAL;
        break;
      case kGateway:
        if (parse_gateway_option(optarg, &o->net, err)) return -EINVAL;
        break;
      case kMtu:
        if (parse_mtu_option(optarg, &o->net, err)) return -EINVAL;
        break;
      case kTcpMaxConns:
        if (!parse_uint(optarg, 10, 65536, &v) || v == 0) return bad("--tcp-max-conns");
        o->tcp.max_conns = static_cast<uint32_t>(v);
        break;
      case kTcpRcvbuf:
        if (!parse_size(optarg, &v) || v < (64u << 10) || v > (64u << 20))
          return bad("--tcp-rcvbuf");
        o->tcp.rcvbuf = static_cast<uint32_t>(v);
        break;
      case kTcpSndbuf:
        if (!parse_size(optarg, &v) || v < (16u << 10) || v > (16u << 20))
          return bad("--tcp-sndbuf");
        o->tcp.sndbuf = static_cast<uint32_t>(v);
        break;
      case kTcpTimeWait:
        if (!parse_uint(optarg, 10, 120000, &v) || v == 0) return bad("--tcp-time-wait-ms");
        o->tcp.time_wait_ms = static_cast<uint32_t>(v);
        break;
      case kTcpCongestion:
        if (std::strcmp(optarg, "newreno") == 0) o->tcp.cubic = false;
        else if (std::strcmp(optarg, "cubic") == 0) o->tcp.cubic = true;
        else return bad("--tcp-congestion (newreno or cubic)");
        break;
      case kTcpBacklogMax:
        if (!parse_uint(optarg, 10, 1024, &v) || v == 0) return bad("--tcp-backlog-max");
        o->tcp.backlog_max = static_cast<uint32_t>(v);
        break;
      case 'h':
      case kHelp:
        o->help = true;
        break;
      default:
        std::fprintf(err, "zcrxd: unknown option '%s' (see --help)\n",
                     argv[optind - 1]);
        return -EINVAL;
    }
  }
  if (optind < argc) {
    std::fprintf(err, "zcrxd: unexpected argument '%s'\n", argv[optind]);
    return -EINVAL;
  }
  if (check_net_config(o->net, err)) return -EINVAL;
  if (o->net.n_addrs == 0 && (o->net.gateway || o->net.mtu)) {
    std::fprintf(err, "zcrxd: --gateway and --mtu need an --ip\n");
    return -EINVAL;
  }
  if (o->socket_path.empty()) o->socket_path = zcrx::proto::default_socket_path();
  return 0;
}

}  // namespace zcrxd
