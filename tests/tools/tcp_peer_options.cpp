// SPDX-License-Identifier: MIT
#include "tcp_peer_options.h"

#include <arpa/inet.h>
#include <getopt.h>

#include <cerrno>
#include <cstdlib>

namespace zcrx::tools {

namespace {

bool parse_u64(const char* s, uint64_t* out) {
  if (!*s || *s == '-') return false;
  char* end;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (errno || *end) return false;
  *out = v;
  return true;
}

PeerParse fail(std::string why) {
  PeerParse p;
  p.error = std::move(why);
  return p;
}

}  // namespace

bool parse_ipv4_endpoint(const std::string& s, sockaddr_in* out) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  uint64_t port;
  if (!parse_u64(s.c_str() + colon + 1, &port) || port == 0 || port > 65535) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &a.sin_addr) != 1) return false;
  *out = a;
  return true;
}

bool parse_size(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  std::string digits = s;
  unsigned shift = 0;
  switch (s.back()) {
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    default: break;
  }
  if (shift) digits.pop_back();
  uint64_t v;
  if (!parse_u64(digits.c_str(), &v) || v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

PeerParse parse_peer_options(int argc, char* const* argv) {
  static const option opts[] = {{"listen", required_argument, nullptr, 'l'},
                                {"connect", required_argument, nullptr, 'c'},
                                {"mode", required_argument, nullptr, 'm'},
                                {"conns", required_argument, nullptr, 'k'},
                                {"churn", required_argument, nullptr, 'n'},
                                {"bytes", required_argument, nullptr, 'b'},
                                {"timeout", required_argument, nullptr, 't'},
                                {"mss", required_argument, nullptr, 's'},
                                {"io-kb", required_argument, nullptr, 'i'},
                                {"corrupt-at", required_argument, nullptr, 'x'},
                                {"rate", required_argument, nullptr, 'r'},
                                {"quiet", no_argument, nullptr, 'q'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
  PeerOptions o;
  bool have_addr = false, have_mode = false;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, nullptr)) != -1) {
    const std::string v = optarg ? optarg : "";
    uint64_t n = 0;
    switch (c) {
      case 'l':
      case 'c':
        if (have_addr) return fail("give one of --listen and --connect");
        if (!parse_ipv4_endpoint(v, &o.addr)) return fail("bad address (want A.B.C.D:PORT): " + v);
        o.role = c == 'l' ? PeerRole::kListen : PeerRole::kConnect;
        have_addr = true;
        break;
      case 'm':
        if (v == "send") o.mode = PeerMode::kSend;
        else if (v == "recv") o.mode = PeerMode::kRecv;
        else if (v == "sink") o.mode = PeerMode::kSink;
        else return fail("bad --mode (send, recv or sink): " + v);
        have_mode = true;
        break;
      case 'k':
        if (!parse_u64(v.c_str(), &n) || n == 0 || n > 65536) return fail("bad --conns: " + v);
        o.conns = static_cast<uint32_t>(n);
        break;
      case 'n':
        if (!parse_u64(v.c_str(), &o.churn) || o.churn == 0) return fail("bad --churn: " + v);
        break;
      case 'b':
        if (!parse_size(v, &o.bytes)) return fail("bad --bytes: " + v);
        o.bytes_given = true;
        break;
      case 't':
        o.timeout_s = std::strtod(v.c_str(), nullptr);
        if (!(o.timeout_s > 0)) return fail("bad --timeout: " + v);
        break;
      case 's':
        if (!parse_u64(v.c_str(), &n) || n < 88 || n > 65495) return fail("bad --mss: " + v);
        o.mss = static_cast<int>(n);
        break;
      case 'i':
        if (!parse_u64(v.c_str(), &n) || n == 0 || n > 16384) return fail("bad --io-kb: " + v);
        o.io_kb = static_cast<uint32_t>(n);
        break;
      case 'x':
        if (!parse_u64(v.c_str(), &o.corrupt_at)) return fail("bad --corrupt-at: " + v);
        break;
      case 'r': {
        char* end;
        o.rate_gbit = std::strtod(v.c_str(), &end);
        if (v.empty() || *end || !(o.rate_gbit > 0) || o.rate_gbit > 10000)
          return fail("bad --rate (Gbit/s, > 0): " + v);
        break;
      }
      case 'q': o.quiet = true; break;
      case 'h': {
        PeerParse p;
        p.help = true;
        return p;
      }
      default:
        return fail(std::string("unknown or incomplete option: ") + argv[optind - 1]);
    }
  }
  if (optind < argc) return fail(std::string("unexpected argument: ") + argv[optind]);
  if (!have_addr) return fail("give --listen ADDR:PORT or --connect ADDR:PORT");
  if (!have_mode) o.mode = o.role == PeerRole::kListen ? PeerMode::kRecv : PeerMode::kSend;
  if (o.mode == PeerMode::kRecv && o.bytes < 8)
    return fail("--mode recv needs --bytes >= 8 (the stream's first 8 bytes name its connection)");
  if (o.corrupt_at != UINT64_MAX && o.mode != PeerMode::kSend)
    return fail("--corrupt-at is for --mode send");
  if (o.rate_gbit > 0 && o.mode != PeerMode::kSend) return fail("--rate is for --mode send");
  PeerParse p;
  p.options = o;
  return p;
}

const char* peer_usage() {
  return "usage: tcp_peer (--listen | --connect) A.B.C.D:PORT [options]\n"
         "A kernel TCP endpoint for interoperability tests. Every connection carries the\n"
         "stream of tests/tools/tcp_pattern.h: byte i of connection c is a function of\n"
         "(c, i), and the first 8 bytes name c, so the receiver checks every byte.\n"
         "Ends with one line: RESULT {json}. Exit status 0 only when every connection\n"
         "completed and every byte was right.\n"
         "\n"
         "  --listen ADDR:PORT   accept the connections (default mode: recv)\n"
         "  --connect ADDR:PORT  open the connections (default mode: send)\n"
         "  --mode M             send: write --bytes of the pattern, half-close, wait for\n"
         "                       the peer's close; recv: read to EOF, verify every byte and\n"
         "                       the count; sink: read to EOF, count (checked if --bytes given)\n"
         "  --conns K            connections at once (default 1)\n"
         "  --churn M            M connections in all, K at a time (default: K in all)\n"
         "  --bytes N            per connection, suffix K/M/G allowed (default 1M)\n"
         "  --timeout S          give up after S seconds (default 60)\n"
         "  --mss N              TCP_MAXSEG on the sockets\n"
         "  --io-kb N            bytes per read/write call in KiB (default 256)\n"
         "  --corrupt-at N       send: flip byte N of connection 0 (tests the receiver)\n"
         "  --rate G             send: at most G Gbit/s over all connections together\n"
         "                       (token bucket, bursts of at most 10 ms of the rate)\n"
         "  --quiet              no progress lines on stderr\n"
         "  --help               this text\n"
         "\n"
         "RESULT fields: role, mode, connections (completed), expected, bytes, errors,\n"
         "bad_bytes, elapsed_s (first connection up to last done), gbit_s, and from\n"
         "TCP_INFO summed over connections: retransmits (tcpi_total_retrans),\n"
         "reord_seen, dsack_dups; rate_gbit (the --rate asked, 0: none), cpu_user_s,\n"
         "cpu_sys_s (getrusage of the whole run).\n";
}

}  // namespace zcrx::tools
