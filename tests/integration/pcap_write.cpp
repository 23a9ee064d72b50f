// SPDX-License-Identifier: MIT
#include "pcap_write.h"

#include <pcap/pcap.h>

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
  std::vector<std::vector<uint8_t>> out;
  out.reserve(frames.size());
  for (const UdpFrame& fr : frames) {
    std::vector<uint8_t>& buf = out.emplace_back(42 + fr.payload, 0);
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
  }
  return write_pcap_frames(path, out);
}

// libpcap writes the file (host byte order, microseconds, Ethernet).
bool write_pcap_frames(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  if (!dead) return false;
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (!d) {
    pcap_close(dead);
    return false;
  }
  for (const auto& fr : frames) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<uint32_t>(fr.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, fr.data());
  }
  // pcap_dump reports nothing: the stream's error flag and the flush do.
  const bool ok = pcap_dump_flush(d) == 0 && !std::ferror(pcap_dump_file(d));
  pcap_dump_close(d);
  pcap_close(dead);
  return ok;
}

std::vector<uint8_t> pattern_payload(uint64_t seq, uint32_t len) {
  std::vector<uint8_t> p(len);
  zcrx::pattern::fill(p.data(), len, seq);
  return p;
}

}  // namespace itest
