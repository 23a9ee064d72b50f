// SPDX-License-Identifier: MIT
#include "options.h"

#include <getopt.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "parse_number.h"

namespace zcrx_rx {
namespace {

using zcrx_examples::parse_u32;
using zcrx_examples::parse_u64;

bool parse_flow(const char* s, zcrx::FlowSpec* f) {
  if (std::strcmp(s, "raw") == 0) {
    *f = zcrx::FlowSpec::raw();
    return true;
  }
  uint64_t port;
  if (std::strncmp(s, "udp:", 4) == 0 && parse_u64(s + 4, 65535, &port) && port != 0) {
    *f = zcrx::FlowSpec::udp(static_cast<uint16_t>(port));
    return true;
  }
  return false;
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::register_ifq: return "register";
    case Mode::clone: return "clone";
    case Mode::import: return "import";
  }
  return "?";
}

void usage(FILE* out) {
  std::fprintf(out,
      "usage: zcrx_rx [options]\n"
      "Receives packets zero-copy from zcrxd (RECV_ZC on a zcrx ring), checks\n"
      "every payload byte against the project's pattern, refills every buffer\n"
      "and prints a final line `RESULT {json}` (packets = data CQEs,\n"
      "datagrams = CQEs that end one, bytes, bad_payloads, bad_lengths,\n"
      "cqe_errors, elapsed_s, cpu_user_s, cpu_sys_s, outstanding, and latency\n"
      "percentiles in ns with --latency). Exit status: 0 when every payload\n"
      "was intact, no CQE carried an error and no buffer is outstanding; 1\n"
      "otherwise; 2 when setup failed.\n\n"
      "  --socket PATH       zcrxd control socket (default\n"
      "                      $XDG_RUNTIME_DIR/zcrx/zcrxd.sock, else\n"
      "                      /run/zcrx/zcrxd.sock)\n"
      "  --flow udp:PORT|raw the flow to receive (default raw); a UDP flow\n"
      "                      gets payloads, raw gets whole frames: the\n"
      "                      pattern is checked in the UDP datagram inside,\n"
      "                      other frames are counted as unchecked\n"
      "  --mode register|clone|import\n"
      "                      register: own ifq and area (the master);\n"
      "                      clone: proxy of the master's ifq (its ring fd);\n"
      "                      import: the master's exported ifq (default register)\n"
      "  --share PATH        register: offer the ring fd and an export fd to\n"
      "                      other consumers on this unix socket path;\n"
      "                      clone/import: take them from it (required)\n"
      "  --count N           stop after N datagrams (a datagram larger than a\n"
      "                      buffer arrives in several CQEs; the last one says\n"
      "                      it ends: zcrx::is_datagram_end)\n"
      "  --datagram-size N   every datagram must add up to N bytes over its\n"
      "                      CQEs (UDP flows; not with --len, which cuts one)\n"
      "  --duration S        stop after S seconds (fractions allowed)\n"
      "  --len BYTES         len-limited RECV_ZC: stop at its final CQE\n"
      "  --busy-poll         spin on the CQ (default)\n"
      "  --eventfd           sleep on an eventfd between completions\n"
      "  --adaptive          spin like --busy-poll for --spin-us, then sleep\n"
      "                      like --eventfd (no CPU burnt on an idle queue)\n"
      "  --spin-us N         --adaptive's spin before sleeping (default 50)\n"
      "  --wait-nr N         a sleeping wait is woken once N completions are\n"
      "                      ready (io_uring_wait_cqes' wait_nr; default 1:\n"
      "                      after every burst zcrxd delivers), so consumers\n"
      "                      sharing a queue wake once per N CQEs; at most\n"
      "                      --cq-entries\n"
      "  --wait-usec N       a wait's timeout: fewer than --wait-nr completions\n"
      "                      wait at most this long (default 1000 with\n"
      "                      --wait-nr above 1, else 100000)\n"
      "  --latency           rx-to-consumer latency from the CQE's TSC stamp\n"
      "                      (zcrxd --rx-timestamp)\n"
      "  --quiet             no progress lines (stderr, once a second)\n"
      "  --touch             read only the first and last byte of each payload\n"
      "                      (no pattern check, none counted bad): the\n"
      "                      benchmark consumer, for sources without the\n"
      "                      pattern such as net_null\n"
      "  --events            register for zcrx events (no buffers, copy fallback)\n"
      "                      and the shared copy counters; count each event\n"
      "                      CQE and re-arm it (register mode only); RESULT\n"
      "                      gains \"events\":{alloc_fail, copy, arm_errors,\n"
      "                      copy_count, copy_bytes}\n"
      "  --port N --queue N  DPDK port and RX queue to register (default 0 0)\n"
      "  --sq-entries N --cq-entries N --rq-entries N\n"
      "                      ring sizes (default 64, 16384, 4096: the CQ can\n"
      "                      hold a completion for each buffer of the\n"
      "                      default area; a smaller CQ drops deliveries\n"
      "                      once it is full, cq_full in zcrxd)\n"
      "  --area-mb N         area size in MiB (default 64)\n"
      "  --rx-buf-len N      bytes per buffer, a power of two from 4096 (default:\n"
      "                      zcrxd's, 4096); a PMD that keeps a frame in one\n"
      "                      buffer (net_null, net_af_packet) needs one a jumbo\n"
      "                      frame fits\n"
      "  --hugetlb           back the area with huge pages\n"
      "  --zcrxd-area        zcrxd makes the area (headers inside, sealed, mapped\n"
      "                      read-only here): net_af_xdp then receives into it\n"
      "                      without a copy\n"
      "  --help              this text\n"
      "Stops on SIGINT/SIGTERM too, after cancelling its request and\n"
      "refilling every buffer it holds.\n");
}

int parse_options(int argc, char** argv, Options& o) {
  enum {
    kSocket = 256, kFlow, kMode, kShare, kCount, kDgramSize, kDuration, kLen, kBusy, kEventfd,
    kAdaptive, kSpinUs, kWaitNr, kWaitUsec,
    kLatency, kQuiet, kTouch, kEvents, kPort, kQueue, kSq, kCq, kRq, kAreaMb, kRxBufLen, kHugetlb,
    kZcrxdArea, kHelp,
  };
  static const option longopts[] = {
      {"socket", required_argument, nullptr, kSocket},
      {"flow", required_argument, nullptr, kFlow},
      {"mode", required_argument, nullptr, kMode},
      {"share", required_argument, nullptr, kShare},
      {"count", required_argument, nullptr, kCount},
      {"datagram-size", required_argument, nullptr, kDgramSize},
      {"duration", required_argument, nullptr, kDuration},
      {"len", required_argument, nullptr, kLen},
      {"busy-poll", no_argument, nullptr, kBusy},
      {"eventfd", no_argument, nullptr, kEventfd},
      {"adaptive", no_argument, nullptr, kAdaptive},
      {"spin-us", required_argument, nullptr, kSpinUs},
      {"wait-nr", required_argument, nullptr, kWaitNr},
      {"wait-usec", required_argument, nullptr, kWaitUsec},
      {"latency", no_argument, nullptr, kLatency},
      {"quiet", no_argument, nullptr, kQuiet},
      {"touch", no_argument, nullptr, kTouch},
      {"events", no_argument, nullptr, kEvents},
      {"port", required_argument, nullptr, kPort},
      {"queue", required_argument, nullptr, kQueue},
      {"sq-entries", required_argument, nullptr, kSq},
      {"cq-entries", required_argument, nullptr, kCq},
      {"rq-entries", required_argument, nullptr, kRq},
      {"area-mb", required_argument, nullptr, kAreaMb},
      {"rx-buf-len", required_argument, nullptr, kRxBufLen},
      {"hugetlb", no_argument, nullptr, kHugetlb},
      {"zcrxd-area", no_argument, nullptr, kZcrxdArea},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    bool ok = true;
    switch (c) {
      case kSocket: o.socket = optarg; break;
      case kFlow:
        ok = parse_flow(optarg, &o.flow);
        o.flow_text = optarg;
        break;
      case kMode:
        if (std::strcmp(optarg, "register") == 0) o.mode = Mode::register_ifq;
        else if (std::strcmp(optarg, "clone") == 0) o.mode = Mode::clone;
        else if (std::strcmp(optarg, "import") == 0) o.mode = Mode::import;
        else ok = false;
        break;
      case kShare: o.share = optarg; break;
      case kCount: ok = parse_u64(optarg, UINT64_MAX, &o.count); break;
      case kDgramSize: ok = parse_u32(optarg, &o.datagram_size) && o.datagram_size > 0; break;
      case kDuration: {
        char* end;
        o.duration = std::strtod(optarg, &end);
        ok = *optarg && !*end && o.duration >= 0 && o.duration < 1e9;
        break;
      }
      case kLen: ok = parse_u32(optarg, &o.len); break;
      case kBusy: o.eventfd = o.adaptive = false; break;
      case kEventfd:
        o.eventfd = true;
        o.adaptive = false;
        break;
      case kAdaptive:
        o.adaptive = true;
        o.eventfd = false;
        break;
      case kSpinUs: ok = parse_u32(optarg, &o.spin_us) && o.spin_us <= 1000000; break;
      case kWaitNr: ok = parse_u32(optarg, &o.wait_nr) && o.wait_nr > 0; break;
      case kWaitUsec: ok = parse_u32(optarg, &o.wait_usec) && o.wait_usec > 0; break;
      case kLatency: o.latency = true; break;
      case kQuiet: o.quiet = true; break;
      case kTouch: o.touch = true; break;
      case kEvents: o.events = true; break;
      case kPort: ok = parse_u32(optarg, &o.port); break;
      case kQueue: ok = parse_u32(optarg, &o.queue); break;
      case kSq: ok = parse_u32(optarg, &o.sq_entries); break;
      case kCq: ok = parse_u32(optarg, &o.cq_entries); break;
      case kRq: ok = parse_u32(optarg, &o.rq_entries); break;
      case kAreaMb: ok = parse_u64(optarg, uint64_t{1} << 20, &o.area_mb) && o.area_mb > 0; break;
      case kRxBufLen:
        ok = parse_u32(optarg, &o.rx_buf_len) && o.rx_buf_len >= 4096 &&
             (o.rx_buf_len & (o.rx_buf_len - 1)) == 0;
        break;
      case kHugetlb: o.hugetlb = true; break;
      case kZcrxdArea: o.zcrxd_area = true; break;
      case kHelp: usage(stdout); return 1;
      default:
        std::fprintf(stderr, "zcrx_rx: unknown option %s (see --help)\n", argv[optind - 1]);
        return -1;
    }
    if (!ok) {
      std::fprintf(stderr, "zcrx_rx: bad value '%s' for %s (see --help)\n", optarg,
                   argv[optind - 1]);
      return -1;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "zcrx_rx: unexpected argument '%s' (see --help)\n", argv[optind]);
    return -1;
  }
  if (o.events && o.mode != Mode::register_ifq) {
    std::fprintf(stderr, "zcrx_rx: --events needs --mode register (events go to the master)\n");
    return -1;
  }
  // wait_cqe refuses a min the CQ cannot hold (cq_entries 0 asks for
  // twice the SQ).
  const uint64_t cq = o.cq_entries ? o.cq_entries : uint64_t{2} * o.sq_entries;
  if (o.wait_nr > cq) {
    std::fprintf(stderr, "zcrx_rx: --wait-nr %u exceeds the CQ's %llu entries\n", o.wait_nr,
                 static_cast<unsigned long long>(cq));
    return -1;
  }
  if (o.mode != Mode::register_ifq && o.share.empty()) {
    std::fprintf(stderr, "zcrx_rx: --mode %s needs --share PATH\n", mode_name(o.mode));
    return -1;
  }
  return 0;
}

}  // namespace zcrx_rx
