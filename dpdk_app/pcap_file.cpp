// SPDX-License-Identifier: MIT
#include "pcap_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace zcrxd {

namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kLinkEthernet = 1;
constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;

uint32_t load32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return swap ? __builtin_bswap32(v) : v;
}

}  // namespace

int read_pcap(const std::string& path, PcapFrames* out, FILE* err) {
  auto fail = [&](int rc, const char* why) {
    std::fprintf(err, "zcrxd: pcap %s: %s\n", path.c_str(), why);
    return rc;
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errno ? -errno : -ENOENT, std::strerror(errno ? errno : ENOENT));
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < kFileHeader) return fail(-EINVAL, "shorter than a pcap header");
  uint32_t magic;
  std::memcpy(&magic, file.data(), sizeof(magic));
  bool swap = false;
  if (magic != kMagicMicro && magic != kMagicNano) {
    swap = true;
    magic = __builtin_bswap32(magic);
    if (magic != kMagicMicro && magic != kMagicNano) return fail(-EINVAL, "not a pcap file");
  }
  if (load32(file.data() + 20, swap) != kLinkEthernet)
    return fail(-EINVAL, "link type is not Ethernet");
  PcapFrames f;
  size_t at = kFileHeader;
  while (at < file.size()) {
    if (file.size() - at < kRecordHeader) return fail(-EINVAL, "a record header cut short");
    uint32_t caplen = load32(file.data() + at + 8, swap);
    uint32_t origlen = load32(file.data() + at + 12, swap);
    at += kRecordHeader;
    if (caplen == 0 || caplen > kMaxPcapFrame || caplen > origlen)
      return fail(-EINVAL, "a frame of 0 bytes, above 16 KiB, or truncated by the capture");
    if (file.size() - at < caplen) return fail(-EINVAL, "a frame cut short");
    f.offsets.push_back(static_cast<uint32_t>(f.bytes.size()));
    f.lengths.push_back(caplen);
    f.bytes.insert(f.bytes.end(), file.begin() + static_cast<long>(at),
                   file.begin() + static_cast<long>(at + caplen));
    if (caplen > f.max_len) f.max_len = caplen;
    at += caplen;
  }
  if (f.offsets.empty()) return fail(-ENODATA, "no frames");
  *out = std::move(f);
  return 0;
}

}  // namespace zcrxd
