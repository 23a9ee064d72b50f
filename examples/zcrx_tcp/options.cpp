// SPDX-License-Identifier: MIT
#include "options.h"

#include <arpa/inet.h>
#include <getopt.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "parse_number.h"

namespace zcrx_tcp {
namespace {

using zcrx_examples::parse_u32;
using zcrx_examples::parse_u64;

// A byte count with an optional K, M or G suffix (powers of 1024), as
// tcp_peer takes it.
bool parse_size(const char* s, uint64_t* out) {
  std::string digits = s;
  if (digits.empty()) return false;
  unsigned shift = 0;
  switch (digits.back()) {
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    default: break;
  }
  if (shift) digits.pop_back();
  uint64_t v;
  if (!parse_u64(digits.c_str(), UINT64_MAX >> shift, &v)) return false;
  *out = v << shift;
  return true;
}

// "A.B.C.D:PORT"; the port may be 0 only for a listener (ephemeral).
bool parse_endpoint(const char* s, bool allow_port0, uint32_t* ip, uint16_t* port) {
  const char* colon = std::strrchr(s, ':');
  if (!colon) return false;
  uint64_t p;
  if (!parse_u64(colon + 1, 65535, &p) || (p == 0 && !allow_port0)) return false;
  const std::string host(s, colon);
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
  *ip = ntohl(a.s_addr);
  *port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

const char* role_name(Role r) { return r == Role::server ? "server" : "client"; }

void usage(FILE* out) {
  std::fprintf(out,
      "usage: zcrx_tcp --listen IP:PORT [options]\n"
      "       zcrx_tcp --connect IP:PORT --bytes N [options]\n"
      "TCP through zcrxd's TCP endpoint (zcrxd --ip), carrying the byte stream\n"
      "of tests/tools/tcp_pattern.h, so the kernel's tcp_peer can be either end.\n\n"
      "server (--listen): SOCKET, BIND, LISTEN, one multishot ACCEPT; per\n"
      "  connection a multishot RECV_ZC on its own registered ifq (area + refill\n"
      "  queue, as zcrx_rx), every byte checked against the stream whose index\n"
      "  its first 8 bytes name, every buffer refilled; a RECV_ZC that ends\n"
      "  without F_MORE for another reason than EOF is armed again. EOF (res 0)\n"
      "  or an error ends the connection: CLOSE.\n"
      "client (--connect): REGISTER_TX, then per connection SOCKET, CONNECT, the\n"
      "  stream (index 0..N-1) in SENDs from the TX region, SHUTDOWN(SHUT_WR),\n"
      "  then waits for the peer's close (RECV_ZC to EOF: the peer read it all)\n"
      "  and CLOSEs.\n\n"
      "Prints a progress line once a second (stderr), a CONN {json} line per\n"
      "connection that went wrong (every one with --conn-lines) and a final\n"
      "RESULT {json}: role, connections (completed intact), expected, ended,\n"
      "bytes, errors, bad_bytes, resets, elapsed_s (first connection to last),\n"
      "gbit_s, rearms, outstanding (buffers not refilled), paused_ms,\n"
      "paused_bytes (received while not refilling), refused, unexpected_bytes.\n"
      "Exit status: 0 when every expected connection completed with every byte\n"
      "right and no buffer is outstanding; 1 otherwise; 2 when setup failed;\n"
      "77 when zcrxd has no TCP endpoint (SOCKET is -EAFNOSUPPORT: zcrxd runs\n"
      "without --ip), so test harnesses count the run as skipped.\n\n"
      "  --socket PATH         zcrxd control socket (default $XDG_RUNTIME_DIR/\n"
      "                        zcrx/zcrxd.sock, else /run/zcrx/zcrxd.sock)\n"
      "  --listen IP:PORT      server on one of zcrxd's addresses (0.0.0.0: any)\n"
      "  --connect IP:PORT     client to this peer\n"
      "  --connections N       server: exit after N connections ended (default:\n"
      "                        run until SIGINT/SIGTERM); with N, stream indices\n"
      "                        must be 0..N-1, each once; client: N connections\n"
      "                        at once (default 1)\n"
      "  --bytes N             per connection (K/M/G suffixes): the client sends\n"
      "                        N; the server wants exactly N (default: any)\n"
      "  --chunk-kb N          client: bytes per SEND, in KiB (default 256)\n"
      "  --pause-after BYTES   server: once a connection has received BYTES,\n"
      "  --pause-ms MS         stop refilling for MS ms (the zero-window test:\n"
      "                        zcrxd runs out of buffers, the sender must stall)\n"
      "  --timeout S           give up after S seconds: a failure (default none)\n"
      "  --max-conns N         server: connections open at once (default 1024;\n"
      "                        more are closed at once, counted as refused)\n"
      "  --busy-poll | --eventfd | --adaptive\n"
      "                        how to wait for completions (default adaptive:\n"
      "                        on a small machine zcrxd, the peer and this\n"
      "                        program share the cores)\n"
      "  --spin-us N           --adaptive's spin before sleeping (default 50)\n"
      "  --quiet               no progress lines\n"
      "  --conn-lines          a CONN line for every connection\n"
      "  --port N --queue N    DPDK port and RX queue to register (default 0 0)\n"
      "  --sq-entries N --cq-entries N --rq-entries N\n"
      "                        ring sizes (default 1024, 32768, 4096)\n"
      "  --area-mb N           area size in MiB (default 64)\n"
      "  --rx-buf-len N        bytes per buffer, a power of two from 4096 (default:\n"
      "                        zcrxd's, 4096); PMDs that keep a frame in one\n"
      "                        buffer (net_af_packet) need one a jumbo frame fits\n"
      "  --help                this text\n");
}

int parse_options(int argc, char** argv, Options& o) {
  enum {
    kSocket = 256, kListen, kConnect, kConns, kBytes, kChunk, kPauseAfter, kPauseMs, kTimeout,
    kMaxConns, kBusy, kEventfd, kAdaptive, kSpinUs, kQuiet, kConnLines, kPort, kQueue, kSq, kCq,
    kRq, kAreaMb, kRxBufLen, kHelp,
  };
  static const option longopts[] = {
      {"socket", required_argument, nullptr, kSocket},
      {"listen", required_argument, nullptr, kListen},
      {"connect", required_argument, nullptr, kConnect},
      {"connections", required_argument, nullptr, kConns},
      {"bytes", required_argument, nullptr, kBytes},
      {"chunk-kb", required_argument, nullptr, kChunk},
      {"pause-after", required_argument, nullptr, kPauseAfter},
      {"pause-ms", required_argument, nullptr, kPauseMs},
      {"timeout", required_argument, nullptr, kTimeout},
      {"max-conns", required_argument, nullptr, kMaxConns},
      {"busy-poll", no_argument, nullptr, kBusy},
      {"eventfd", no_argument, nullptr, kEventfd},
      {"adaptive", no_argument, nullptr, kAdaptive},
      {"spin-us", required_argument, nullptr, kSpinUs},
      {"quiet", no_argument, nullptr, kQuiet},
      {"conn-lines", no_argument, nullptr, kConnLines},
      {"port", required_argument, nullptr, kPort},
      {"queue", required_argument, nullptr, kQueue},
      {"sq-entries", required_argument, nullptr, kSq},
      {"cq-entries", required_argument, nullptr, kCq},
      {"rq-entries", required_argument, nullptr, kRq},
      {"area-mb", required_argument, nullptr, kAreaMb},
      {"rx-buf-len", required_argument, nullptr, kRxBufLen},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  bool listen = false, connect = false, conns_given = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    bool ok = true;
    switch (c) {
      case kSocket: o.socket = optarg; break;
      case kListen:
        ok = parse_endpoint(optarg, true, &o.ip, &o.tcp_port);
        listen = true;
        o.role = Role::server;
        break;
      case kConnect:
        ok = parse_endpoint(optarg, false, &o.ip, &o.tcp_port);
        connect = true;
        o.role = Role::client;
        break;
      case kConns:
        ok = parse_u32(optarg, &o.connections) && o.connections > 0;
        conns_given = true;
        break;
      case kBytes:
        ok = parse_size(optarg, &o.bytes);
        o.bytes_given = true;
        break;
      case kChunk: ok = parse_u32(optarg, &o.chunk_kb) && o.chunk_kb > 0 && o.chunk_kb <= 65536; break;
      case kPauseAfter: ok = parse_size(optarg, &o.pause_after); break;
      case kPauseMs: ok = parse_u32(optarg, &o.pause_ms); break;
      case kTimeout: {
        char* end;
        o.timeout_s = std::strtod(optarg, &end);
        ok = *optarg && !*end && o.timeout_s >= 0 && o.timeout_s < 1e9;
        break;
      }
      case kMaxConns: ok = parse_u32(optarg, &o.max_conns) && o.max_conns > 0 && o.max_conns <= 65536; break;
      case kBusy: o.wait = Wait::busy_poll; break;
      case kEventfd: o.wait = Wait::eventfd; break;
      case kAdaptive: o.wait = Wait::adaptive; break;
      case kSpinUs: ok = parse_u32(optarg, &o.spin_us) && o.spin_us <= 1000000; break;
      case kQuiet: o.quiet = true; break;
      case kConnLines: o.conn_lines = true; break;
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
      case kHelp: usage(stdout); return 1;
      default:
        std::fprintf(stderr, "zcrx_tcp: unknown option %s (see --help)\n", argv[optind - 1]);
        return -1;
    }
    if (!ok) {
      std::fprintf(stderr, "zcrx_tcp: bad value '%s' for %s (see --help)\n", optarg,
                   argv[optind - 1]);
      return -1;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "zcrx_tcp: unexpected argument '%s' (see --help)\n", argv[optind]);
    return -1;
  }
  if (listen == connect) {
    std::fprintf(stderr, "zcrx_tcp: give one of --listen and --connect (see --help)\n");
    return -1;
  }
  if (connect) {
    if (!o.bytes_given) {
      std::fprintf(stderr, "zcrx_tcp: --connect needs --bytes\n");
      return -1;
    }
    if (!conns_given) o.connections = 1;
    if (o.pause_ms || o.pause_after) {
      std::fprintf(stderr, "zcrx_tcp: --pause-after/--pause-ms are for --listen\n");
      return -1;
    }
    // Each connection has one SEND in flight from its own slot.
    if (uint64_t{o.connections} * o.chunk_kb > (uint64_t{1} << 20)) {
      std::fprintf(stderr, "zcrx_tcp: --connections x --chunk-kb exceeds the 1 GiB TX region\n");
      return -1;
    }
  }
  if ((o.pause_ms != 0) != (o.pause_after != 0)) {
    std::fprintf(stderr, "zcrx_tcp: --pause-after and --pause-ms go together\n");
    return -1;
  }
  return 0;
}

}  // namespace zcrx_tcp
