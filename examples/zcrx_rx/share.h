// SPDX-License-Identifier: MIT
// --share: how a master consumer hands its ring fd (for clone) and an export
// fd (for import) to other consumers. The master listens on a unix
// SOCK_SEQPACKET socket; each follower that connects receives one
// ShareMsg with the fds attached (SCM_RIGHTS), then the connection closes.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace zcrx_rx {

struct ShareMsg {
  uint32_t magic;    // kShareMagic
  uint32_t zcrx_id;  // the master's zcrx id (the clone's if_rxq)
  uint32_t fd_mask;  // bit 0: ring fd attached, bit 1: export fd attached (in that order)
  uint32_t resv;     // 0
};
inline constexpr uint32_t kShareMagic = 0x5a534852;  // 'ZSHR'
inline constexpr uint32_t kShareRing = 1u << 0;
inline constexpr uint32_t kShareExport = 1u << 1;

/// The master's side: serves followers from a thread until stop().
class ShareOffer {
 public:
  ~ShareOffer() { stop(); }
  /// Listens on `path` (an old socket file there is replaced) and offers
  /// `ring_fd` and `export_fd` (-1: not offered; both stay the caller's and
  /// must outlive the offer). 0 or -errno.
  int start(const std::string& path, int ring_fd, int export_fd, uint32_t zcrx_id);
  /// Stops serving and removes the socket file.
  void stop();
  unsigned served() const { return served_.load(std::memory_order_relaxed); }

 private:
  void serve();

  int listen_fd_ = -1;
  std::string path_;
  int fds_[2] = {-1, -1};
  ShareMsg msg_{};
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> served_{0};  // relaxed: a statistic
  std::thread thread_;
};

/// What a follower got.
struct Shared {
  int ring_fd = -1;
  int export_fd = -1;
  uint32_t zcrx_id = 0;
};

/// Connects to the master at `path`, retrying for up to `timeout_s` while
/// it is not there yet, and receives its offer. 0 or -errno (-EPROTO for a
/// malformed offer).
int take_share(const std::string& path, double timeout_s, Shared* out);

}  // namespace zcrx_rx
