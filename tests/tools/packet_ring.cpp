// SPDX-License-Identifier: MIT
#include "packet_ring.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace zcrx::tools {

namespace {

uint32_t round_up(uint32_t v, uint32_t to) { return (v + to - 1) / to * to; }

uint32_t pow2_at_least(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::unique_ptr<PacketRing> PacketRing::open(const std::string& ifname, uint32_t max_frame,
                                             uint32_t ring_bytes, bool see_outgoing,
                                             std::string* err) {
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    *err = errno_text(("interface " + ifname).c_str());
    return nullptr;
  }
  std::unique_ptr<PacketRing> r(new PacketRing);
  // Protocol 0: nothing is received until bind() names the interface, so
  // no frame of another interface slips into the ring first.
  r->fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (r->fd_ < 0) {
    *err = errno_text("socket(AF_PACKET)");
    return nullptr;
  }
  const int v2 = TPACKET_V2;
  if (setsockopt(r->fd_, SOL_PACKET, PACKET_VERSION, &v2, sizeof v2) < 0) {
    *err = errno_text("PACKET_VERSION");
    return nullptr;
  }
  const int one = 1;
  r->ignores_outgoing_ =
      !see_outgoing &&
      setsockopt(r->fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) == 0;
  // Bypassing the qdisc also skips the taps: our sends are not even
  // offered to our own ring.
  if (setsockopt(r->fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) {
    *err = errno_text("PACKET_QDISC_BYPASS");
    return nullptr;
  }
  const int sndbuf = 8 << 20;
  if (setsockopt(r->fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(r->fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  // Where the kernel puts a frame: the header, sockaddr_ll, then the MAC
  // header placed so the network header is 16-aligned (at most 16 bytes
  // of slack before the frame).
  r->frame_size_ = round_up(TPACKET2_HDRLEN + 16 + max_frame, TPACKET_ALIGNMENT);
  const uint32_t page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  r->block_size_ = std::max<uint32_t>(pow2_at_least(r->frame_size_), 16 * page);
  r->frames_per_block_ = r->block_size_ / r->frame_size_;
  const uint32_t blocks = std::max<uint32_t>(ring_bytes / r->block_size_, 2);
  r->frame_nr_ = blocks * r->frames_per_block_;
  tpacket_req req{};
  req.tp_block_size = r->block_size_;
  req.tp_block_nr = blocks;
  req.tp_frame_size = r->frame_size_;
  req.tp_frame_nr = r->frame_nr_;
  if (setsockopt(r->fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) {
    *err = errno_text("PACKET_RX_RING");
    return nullptr;
  }
  r->map_len_ = static_cast<size_t>(r->block_size_) * blocks;
  void* map = mmap(nullptr, r->map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd_, 0);
  if (map == MAP_FAILED) {
    *err = errno_text("mmap(PACKET_RX_RING)");
    return nullptr;
  }
  r->map_ = static_cast<uint8_t*>(map);

  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (bind(r->fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    *err = errno_text(("bind to " + ifname).c_str());
    return nullptr;
  }
  // Frames to other MAC addresses too (a veth delivers them anyway; a real
  // NIC needs this).
  packet_mreq mr{};
  mr.mr_ifindex = static_cast<int>(ifindex);
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(r->fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
    *err = errno_text("PACKET_MR_PROMISC");
    return nullptr;
  }
  return r;
}

PacketRing::~PacketRing() {
  if (map_) munmap(map_, map_len_);
  if (fd_ >= 0) close(fd_);
}

uint8_t* PacketRing::frame_at(uint32_t i) const {
  return map_ + static_cast<size_t>(i / frames_per_block_) * block_size_ +
         static_cast<size_t>(i % frames_per_block_) * frame_size_;
}

bool PacketRing::peek(RxFrame* f) const {
  auto* h = reinterpret_cast<tpacket2_hdr*>(frame_at(next_));
  // Acquire: the kernel fills the frame, then publishes TP_STATUS_USER
  // (smp_wmb before the status store); the frame's bytes are read after.
  const uint32_t status = std::atomic_ref<uint32_t>(h->tp_status).load(std::memory_order_acquire);
  if (!(status & TP_STATUS_USER)) return false;
  const auto* sll = reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<uint8_t*>(h) +
                                                         TPACKET_ALIGN(sizeof(tpacket2_hdr)));
  f->data = reinterpret_cast<uint8_t*>(h) + h->tp_mac;
  f->len = h->tp_len;
  f->snaplen = h->tp_snaplen;
  f->status = status;
  f->pkttype = sll->sll_pkttype;
  f->vlan_tci = h->tp_vlan_tci;
  f->vlan_tpid = h->tp_vlan_tpid;
  return true;
}

void PacketRing::release() {
  auto* h = reinterpret_cast<tpacket2_hdr*>(frame_at(next_));
  // Release: every read of the frame is done before the kernel may refill it.
  std::atomic_ref<uint32_t>(h->tp_status).store(TP_STATUS_KERNEL, std::memory_order_release);
  if (++next_ == frame_nr_) next_ = 0;
}

uint64_t PacketRing::take_drops() {
  tpacket_stats st{};
  socklen_t len = sizeof st;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return 0;
  return st.tp_drops;
}

int PacketRing::send(mmsghdr* msgs, unsigned n) { return sendmmsg(fd_, msgs, n, MSG_DONTWAIT); }

}  // namespace zcrx::tools
