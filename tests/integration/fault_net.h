// SPDX-License-Identifier: MIT
// The fault loop's network: a network namespace of the test's own with a
// veth pair, kernel UDP senders on one end (va, 10.99.0.1) and zcrxd's
// net_af_packet on the other (vb) with two RX queues (qpairs=2, a
// PACKET_FANOUT_HASH group). Which queue a sender's datagrams reach is
// decided by the kernel's flow hash, so it is measured (probe_queues), not
// assumed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace itest::fault {

/// The interface zcrxd's net_af_packet opens and the address the senders
/// send to (resolved statically to vb's MAC: nobody answers ARP there).
inline constexpr const char* kIface = "vb";

/// Moves this process, and every process it forks from now on, into a new
/// network namespace with the veth pair up. False with the reason when the
/// namespace or the pair cannot be made (no CAP_SYS_ADMIN, no veth, no
/// `ip`): the test then SKIPs.
bool enter_veth_netns(std::string* why);

/// A UDP socket bound to 10.99.0.1:sport that sends to 10.99.0.2:dport.
struct UdpFlow {
  int sock = -1;
  uint16_t sport = 0;
  uint16_t dport = 0;
};

/// 0 or -errno.
int open_udp_flow(uint16_t sport, uint16_t dport, UdpFlow* out);
void close_udp_flow(UdpFlow& f);

/// Sends one zcrx/pattern.h datagram of `size` bytes for `seq`; true when
/// the kernel took it.
bool send_pattern(const UdpFlow& f, uint64_t seq, uint32_t size);

/// The RX queue (0 .. nqueues-1) each of `flows` reaches, -1 for one seen
/// on no queue: one datagram per flow while a probe ring on each queue
/// receives every frame (a raw flow), then the probe rings close. Needs a
/// zcrxd serving queues 0..nqueues-1 with nothing bound yet; empty when a
/// probe ring cannot register or arm.
std::vector<int> probe_queues(const std::string& socket, const std::vector<UdpFlow>& flows,
                              int nqueues);

/// A traffic generator in a process of its own: pattern datagrams of
/// `size` bytes, round-robin over `flows`, `pps` per second in total, with
/// sequence numbers 1, 2, ... across all flows. It never sends faster to
/// catch up after being descheduled (a burst would overflow the kernel's
/// backlog, a loss no receiver could be blamed for).
class Sender {
 public:
  Sender(const std::vector<UdpFlow>& flows, uint32_t size, uint32_t pps);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  bool ok() const { return pid_ > 0; }
  /// Stops sending and returns the last sequence number sent: every one
  /// up to it was taken by the kernel. 0 when the process is gone.
  uint64_t pause();
  /// Sends again (after pause()).
  void resume();

 private:
  pid_t pid_ = -1;
  int ctl_ = -1;
};

}  // namespace itest::fault
