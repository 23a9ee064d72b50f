// SPDX-License-Identifier: MIT
#include "pcap_write.h"

#include <cstdio>
#include <cstring>

#include "zcrx/pattern.h"

namespace itest {

namespace {

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

bool write_pcap(const std::string& path, const std::vector<UdpFrame>& frames) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  // Global header: magic, v2.4, zone 0, sigfigs 0, snaplen, Ethernet.
  uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
  bool ok = std::fwrite(gh, sizeof(gh), 1, f) == 1;
  std::vector<uint8_t> buf;
  for (const UdpFrame& fr : frames) {
    buf.assign(42 + fr.payload, 0);
    uint8_t* e = buf.data();
    std::memcpy(e, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
    put16(e + 12, 0x0800);
    uint8_t* ip = e + 14;
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(28 + fr.payload));
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, static_cast<uint16_t>(~sum));
    uint8_t* udp = ip + 20;
    put16(udp, fr.src_port);
    put16(udp + 2, fr.dst_port);
    put16(udp + 4, static_cast<uint16_t>(8 + fr.payload));
    zcrx::pattern::fill(udp + 8, fr.payload, fr.seq);
    uint32_t rh[4] = {0, 0, static_cast<uint32_t>(buf.size()), static_cast<uint32_t>(buf.size())};
    ok = ok && std::fwrite(rh, sizeof(rh), 1, f) == 1 &&
         std::fwrite(buf.data(), buf.size(), 1, f) == 1;
  }
  return std::fclose(f) == 0 && ok;
}

bool write_pcap_frames(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
  bool ok = std::fwrite(gh, sizeof(gh), 1, f) == 1;
  for (const auto& fr : frames) {
    const auto n = static_cast<uint32_t>(fr.size());
    uint32_t rh[4] = {0, 0, n, n};
    ok = ok && std::fwrite(rh, sizeof(rh), 1, f) == 1 && std::fwrite(fr.data(), n, 1, f) == 1;
  }
  return std::fclose(f) == 0 && ok;
}

std::vector<uint8_t> pattern_payload(uint64_t seq, uint32_t len) {
  std::vector<uint8_t> p(len);
  zcrx::pattern::fill(p.data(), len, seq);
  return p;
}

}  // namespace itest
