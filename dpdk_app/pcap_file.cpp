// SPDX-License-Identifier: MIT
// Parsing is libpcap's (pcap_fopen_offline, pcap_next_ex): both byte
// orders, both timestamp resolutions, and a record cut short is its error.
// What --inject itself needs on top is checked here: Ethernet link type,
// and each frame's captured length.
#include "pcap_file.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace zcrxd {

namespace {

struct PcapClose {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

}  // namespace

int read_pcap(const std::string& path, PcapFrames* out, FILE* err) {
  auto fail = [&](int rc, const char* why) {
    std::fprintf(err, "zcrxd: pcap %s: %s\n", path.c_str(), why);
    return rc;
  };
  // Opened here rather than by pcap_open_offline so that a missing or
  // unreadable file reports its errno, not only libpcap's message.
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) {
    const int e = errno ? errno : ENOENT;
    return fail(-e, std::strerror(e));
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // On success the pcap_t owns `file` (pcap_close closes it).
  std::unique_ptr<pcap_t, PcapClose> pcap(pcap_fopen_offline(file, errbuf));
  if (!pcap) {
    std::fclose(file);
    return fail(-EINVAL, errbuf);
  }
  if (pcap_datalink(pcap.get()) != DLT_EN10MB) return fail(-EINVAL, "link type is not Ethernet");
  PcapFrames f;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(pcap.get(), &hdr, &data)) == 1) {
    const uint32_t caplen = hdr->caplen;
    if (caplen == 0 || caplen > kMaxPcapFrame || caplen > hdr->len)
      return fail(-EINVAL, "a frame of 0 bytes, above 16 KiB, or truncated by the capture");
    f.offsets.push_back(static_cast<uint32_t>(f.bytes.size()));
    f.lengths.push_back(caplen);
    f.bytes.insert(f.bytes.end(), data, data + caplen);
    if (caplen > f.max_len) f.max_len = caplen;
  }
  // PCAP_ERROR_BREAK is the end of the file; anything else (a record or
  // frame cut short, a length above what the link type allows) is an error.
  if (rc != PCAP_ERROR_BREAK) return fail(-EINVAL, pcap_geterr(pcap.get()));
  if (f.offsets.empty()) return fail(-ENODATA, "no frames");
  *out = std::move(f);
  return 0;
}

}  // namespace zcrxd
