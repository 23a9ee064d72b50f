// SPDX-License-Identifier: MIT
// An AF_PACKET socket bound to one interface that receives every frame on
// it into a TPACKET_V2 ring (mapped, no syscall per frame while frames keep
// coming, a wakeup per frame when idle: no TPACKET_V3 block-retire delay)
// and sends with sendmmsg. Outgoing frames (the kernel's or our own) are
// not received (PACKET_IGNORE_OUTGOING, and the relay also skips
// PACKET_OUTGOING should a kernel lack the option); sends bypass the qdisc.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

namespace zcrx::tools {

/// A received frame, valid until PacketRing::release().
struct RxFrame {
  const uint8_t* data = nullptr;
  uint32_t len = 0;        // on the wire (tp_len)
  uint32_t snaplen = 0;    // in the ring (< len: truncated)
  uint32_t status = 0;     // TP_STATUS_* (CSUMNOTREADY, VLAN_VALID, ...)
  uint8_t pkttype = 0;     // PACKET_HOST, PACKET_OUTGOING, ...
  uint16_t vlan_tci = 0;   // when status has TP_STATUS_VLAN_VALID
  uint16_t vlan_tpid = 0;  // when status has TP_STATUS_VLAN_TPID_VALID
};

class PacketRing {
 public:
  /// Opens the socket and its ring: room for frames of up to `max_frame`
  /// bytes, about `ring_bytes` in all. `see_outgoing`: do not ask the
  /// kernel to leave outgoing frames out (tests the reader's own check).
  /// nullptr (and *err) on failure.
  static std::unique_ptr<PacketRing> open(const std::string& ifname, uint32_t max_frame,
                                          uint32_t ring_bytes, bool see_outgoing,
                                          std::string* err);
  ~PacketRing();
  PacketRing(const PacketRing&) = delete;
  PacketRing& operator=(const PacketRing&) = delete;

  int fd() const { return fd_; }
  bool ignores_outgoing() const { return ignores_outgoing_; }

  /// The oldest frame the kernel handed over, if any (the same one until
  /// release()).
  bool peek(RxFrame* f) const;

  /// Gives the frame peek() returned back to the kernel.
  void release();

  /// Frames the kernel dropped because the ring was full, since the last
  /// call (PACKET_STATISTICS resets on read).
  uint64_t take_drops();

  /// sendmmsg on the socket (the bound interface); its result.
  int send(mmsghdr* msgs, unsigned n);

 private:
  PacketRing() = default;
  uint8_t* frame_at(uint32_t i) const;

  int fd_ = -1;
  uint8_t* map_ = nullptr;
  size_t map_len_ = 0;
  uint32_t frame_size_ = 0;
  uint32_t block_size_ = 0;
  uint32_t frames_per_block_ = 0;
  uint32_t frame_nr_ = 0;
  uint32_t next_ = 0;
  bool ignores_outgoing_ = false;
};

}  // namespace zcrx::tools
