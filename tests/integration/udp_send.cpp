// SPDX-License-Identifier: MIT
// udp_send: a kernel UDP sender of pattern payloads (zcrx/pattern.h) for
// the network-namespace test: --dst ADDR --port N --count N --size N
// [--first-seq N] [--gap-us N]. Sequence numbers start at --first-seq.
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "zcrx/pattern.h"

int main(int argc, char** argv) {
  const char* dst = "127.0.0.1";
  unsigned long port = 9000, count = 1000, size = 1000, first = 1, gap_us = 0;
  static const option opts[] = {{"dst", required_argument, nullptr, 'd'},
                                {"port", required_argument, nullptr, 'p'},
                                {"count", required_argument, nullptr, 'n'},
                                {"size", required_argument, nullptr, 's'},
                                {"first-seq", required_argument, nullptr, 'f'},
                                {"gap-us", required_argument, nullptr, 'g'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, nullptr)) != -1) {
    switch (c) {
      case 'd': dst = optarg; break;
      case 'p': port = std::strtoul(optarg, nullptr, 0); break;
      case 'n': count = std::strtoul(optarg, nullptr, 0); break;
      case 's': size = std::strtoul(optarg, nullptr, 0); break;
      case 'f': first = std::strtoul(optarg, nullptr, 0); break;
      case 'g': gap_us = std::strtoul(optarg, nullptr, 0); break;
      case 'h':
        std::printf("usage: udp_send --dst ADDR --port N --count N --size N "
                    "[--first-seq N] [--gap-us N]\n"
                    "Sends UDP datagrams whose payloads carry zcrx/pattern.h.\n");
        return 0;
      default: return 2;
    }
  }
  if (size > 65000 || port == 0 || port > 65535) return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return 1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, dst, &sa.sin_addr) != 1) return 2;
  std::vector<uint8_t> buf(size);
  for (unsigned long i = 0; i < count; i++) {
    zcrx::pattern::fill(buf.data(), size, first + i);
    if (sendto(s, buf.data(), size, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      std::perror("udp_send: sendto");
      return 1;
    }
    if (gap_us) usleep(static_cast<useconds_t>(gap_us));
  }
  close(s);
  return 0;
}
