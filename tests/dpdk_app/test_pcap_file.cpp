// SPDX-License-Identifier: MIT
// The pcap reader behind --inject: both byte orders and timestamp
// resolutions, every frame byte-exact and in order, and the untrusted
// file's faults refused with a reason (never read past the file).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pcap_file.h"

using namespace zcrxd;

namespace {

void put32(std::vector<uint8_t>& v, uint32_t x, bool swap) {
  if (swap) x = __builtin_bswap32(x);
  uint8_t b[4];
  std::memcpy(b, &x, 4);
  v.insert(v.end(), b, b + 4);
}

void put16(std::vector<uint8_t>& v, uint16_t x, bool swap) {
  if (swap) x = __builtin_bswap16(x);
  uint8_t b[2];
  std::memcpy(b, &x, 2);
  v.insert(v.end(), b, b + 2);
}

std::vector<uint8_t> header(uint32_t magic, uint32_t link, bool swap) {
  std::vector<uint8_t> v;
  put32(v, magic, swap);
  put16(v, 2, swap);  // version 2.4: major, then minor, each in the file's byte order
  put16(v, 4, swap);
  put32(v, 0, swap);
  put32(v, 0, swap);
  put32(v, 65535, swap);
  put32(v, link, swap);
  return v;
}

void record(std::vector<uint8_t>& v, const std::vector<uint8_t>& frame, bool swap,
            uint32_t caplen_override = 0, uint32_t origlen_override = 0) {
  put32(v, 1, swap);
  put32(v, 2, swap);
  put32(v, caplen_override ? caplen_override : static_cast<uint32_t>(frame.size()), swap);
  put32(v, origlen_override ? origlen_override : static_cast<uint32_t>(frame.size()), swap);
  v.insert(v.end(), frame.begin(), frame.end());
}

std::vector<uint8_t> frame_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> f(n);
  for (size_t i = 0; i < n; i++) f[i] = static_cast<uint8_t>(seed + i * 7);
  return f;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    char tmpl[] = "/tmp/zcrxd-pcap-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    close(fd);
    path = tmpl;
  }
  ~TempFile() { unlink(path.c_str()); }
};

int read_quiet(const std::string& path, PcapFrames* out) {
  FILE* devnull = std::fopen("/dev/null", "w");
  int rc = read_pcap(path, out, devnull);
  std::fclose(devnull);
  return rc;
}

}  // namespace

TEST_CASE("frames come back byte-exact and in order, in either byte order and resolution") {
  for (bool swap : {false, true}) {
    for (uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
      std::vector<uint8_t> file = header(magic, 1, swap);
      std::vector<std::vector<uint8_t>> frames = {frame_of(60, 1), frame_of(1514, 2),
                                                  frame_of(9018, 3)};
      for (auto& f : frames) record(file, f, swap);
      TempFile t(file);
      PcapFrames p;
      REQUIRE(read_quiet(t.path, &p) == 0);
      REQUIRE(p.size() == frames.size());
      CHECK(p.max_len == 9018);
      for (size_t i = 0; i < frames.size(); i++) {
        REQUIRE(p.lengths[i] == frames[i].size());
        CHECK(std::memcmp(p.frame(i), frames[i].data(), frames[i].size()) == 0);
      }
    }
  }
}

TEST_CASE("a file that is not a pcap of Ethernet frames is refused") {
  PcapFrames p;
  CHECK(read_quiet("/nonexistent/zcrxd.pcap", &p) == -ENOENT);
  {
    TempFile t(std::vector<uint8_t>(10, 0));  // shorter than a header
    CHECK(read_quiet(t.path, &p) == -EINVAL);
  }
  {
    TempFile t(header(0x12345678, 1, false));
    CHECK(read_quiet(t.path, &p) == -EINVAL);
  }
  {
    TempFile t(header(0xa1b2c3d4, 105, false));  // 802.11
    CHECK(read_quiet(t.path, &p) == -EINVAL);
  }
  {
    TempFile t(header(0xa1b2c3d4, 1, false));
    CHECK(read_quiet(t.path, &p) == -ENODATA);
  }
  CHECK(p.size() == 0);  // nothing was filled in
}

TEST_CASE("record headers are bounds-checked: short, empty, oversized and cut frames") {
  PcapFrames p;
  auto with = [](auto add) {
    std::vector<uint8_t> f = header(0xa1b2c3d4, 1, false);
    record(f, frame_of(100, 9), false);  // one good frame first
    add(f);
    return f;
  };
  {
    TempFile t(with([](std::vector<uint8_t>& f) { f.insert(f.end(), 8, 0); }));
    CHECK(read_quiet(t.path, &p) == -EINVAL);  // half a record header
  }
  {
    TempFile t(with([](std::vector<uint8_t>& f) { record(f, {}, false); }));
    CHECK(read_quiet(t.path, &p) == -EINVAL);  // caplen 0
  }
  {
    TempFile t(with([](std::vector<uint8_t>& f) {
      record(f, frame_of(kMaxPcapFrame + 1, 4), false);
    }));
    CHECK(read_quiet(t.path, &p) == -EINVAL);  // above 16 KiB
  }
  {
    TempFile t(with([](std::vector<uint8_t>& f) { record(f, frame_of(100, 5), false, 0, 50); }));
    CHECK(read_quiet(t.path, &p) == -EINVAL);  // caplen > origlen
  }
  {
    TempFile t(with([](std::vector<uint8_t>& f) {
      record(f, frame_of(100, 6), false, 4000);  // claims more than the file holds
    }));
    CHECK(read_quiet(t.path, &p) == -EINVAL);
  }
  CHECK(p.size() == 0);
}
