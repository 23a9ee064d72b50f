// SPDX-License-Identifier: MIT
// An out-of-tree C++ consumer built against the installed libzcrx with
// nothing but `pkg-config --cflags --libs libzcrx`: the C++ API
// (zcrx/client.h) and the payload check of zcrx/pattern.h. Receives COUNT
// datagrams on a UDP port; each sequence number 1..COUNT must arrive
// exactly once with every byte intact. Prints "consumer_cxx: ok
// datagrams=N bytes=B" and exits 0, else 1.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <zcrx/client.h>
#include <zcrx/pattern.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: consumer_cxx SOCKET PORT COUNT\n");
    return 2;
  }
  const auto port = static_cast<uint16_t>(std::strtoul(argv[2], nullptr, 0));
  const uint64_t count = std::strtoull(argv[3], nullptr, 0);
  std::vector<bool> seen(count + 1);
  zcrx::Ring ring;
  zcrx::IfqParams p;
  p.area_len = size_t{16} << 20;
  zcrx::Ifq* ifq = nullptr;
  int r, flow = -1;
  if ((r = ring.connect(argv[1])) < 0 || (r = ring.create(64, 4096)) < 0 ||
      (r = ring.register_ifq(p, &ifq)) < 0 ||
      (r = flow = ring.open_flow(ifq->id(), zcrx::FlowSpec::udp(port))) < 0) {
    std::fprintf(stderr, "consumer_cxx: setup: %s\n", std::strerror(-r));
    return 1;
  }
  zcrx::prep_recv_zc(ring.get_sqe(), flow, ifq->id(), 0, true, 1);
  ring.submit();
  uint64_t datagrams = 0, bytes = 0, bad = 0;
  while (datagrams < count && bad == 0) {
    if ((r = ring.wait_cqe(1, zcrx::WaitMode::busy_poll, 10'000'000'000)) < 0) {
      std::fprintf(stderr, "consumer_cxx: wait: %s\n", std::strerror(-r));
      break;
    }
    ring.for_each_cqe([&](const zcrx::uapi::io_uring_cqe32& c) {
      const uint8_t* d = ifq->data(c);
      const size_t len = c.cqe.res > 0 ? static_cast<size_t>(c.cqe.res) : 0;
      const uint64_t seq = d ? zcrx::pattern::seq_of(d, len) : 0;
      if (!d || !zcrx::is_datagram_end(c) || zcrx::pattern::first_mismatch(d, len) != len ||
          seq == 0 || seq > count || seen[seq]) {
        bad++;
        return;
      }
      seen[seq] = true;
      datagrams++;
      bytes += len;
      while (!ifq->refill(c)) ifq->flush_refills();
    });
    ifq->flush_refills();
  }
  if (bad || datagrams != count) {
    std::fprintf(stderr, "consumer_cxx: datagrams=%llu bad=%llu\n",
                 static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(bad));
    return 1;
  }
  std::printf("consumer_cxx: ok datagrams=%llu bytes=%llu\n",
              static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(bytes));
  return 0;
}
