// SPDX-License-Identifier: MIT
// The served ethdev port (Device) and its served RX queues (Port, one per
// queue): configuration, a private fallback pool for queues no area is
// bound to, and rebinding one served queue to another pool without
// disturbing the others where the PMD allows it.
//
// Binding queue q to an area's pool:
//  * the port is not running yet: set q up on the pool; start the port
//    (with `start_when_all_bound`, only once every served queue has a pool);
//  * the PMD sets queues up while running (RTE_ETH_DEV_CAPA_RUNTIME_RX_-
//    QUEUE_SETUP): stop q alone, set it up, start it; served queues are
//    configured with deferred start so none runs before it has an area;
//  * otherwise: every datapath is paused (the pause hook; no one may poll a
//    stopped queue), the port stops, q is set up, the port starts again and
//    the datapaths resume. The kernel likewise restarts an RX queue when it
//    binds a memory provider.
// Unbinding queue q: with runtime setup, q stops and goes back to the
// fallback pool; without it, when other served queues are bound and
// receiving, the port keeps running and q is only left unpolled (it is
// set up on the fallback pool at the next restart or when the port
// closes, whichever comes first), so they lose nothing; when q was the
// last bound queue the port stops and q is set up on the fallback pool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "options.h"
#include "rss_steer.h"

struct rte_mempool;
struct rte_eth_dev_info;

namespace zcrxd {

class Device;

struct PortConfig {
  uint16_t port = 0;
  std::vector<uint16_t> queues{0};  // served RX queues, ascending, distinct
  uint32_t rx_desc = 1024;
  /// Buffer size of the fallback pool's mbufs (headroom included), the
  /// same as an area's niov: a PMD that sizes its frames by the first pool
  /// it sees (net_af_packet checks framesz against it) then accepts frames
  /// as large as the area can take.
  uint32_t buf_len = 4096;
  /// Without runtime queue setup, start the port only when every served
  /// queue has an area, so no bind restarts it (a restart makes net_pcap
  /// replay its files from the start; infinite_rx cannot set a queue up
  /// after a stop at all).
  bool start_when_all_bound = false;
  /// Packets per rx burst: sizes the copy-mode pools.
  uint32_t burst = 32;
  /// What a queue does when the PMD refuses the area pool (see Provider).
  CopyMode copy_mode = CopyMode::kAuto;
  /// Enable the IPv4 and UDP RX checksum offloads the PMD has, so its
  /// mbufs say GOOD or BAD and the datapath need not sum (--rx-csum auto).
  bool rx_csum_offload = false;
  /// The TCP endpoint is on (--ip): one TX queue per RX queue index up to
  /// the highest served (each datapath transmits on the TX queue of its RX
  /// queue's index), with the IPv4/TCP TX checksum offloads the port has,
  /// and the TCP RX checksum offload with rx_csum_offload.
  bool tcp = false;
};

/// One served RX queue of the Device: what the engine's provider binds.
class Port {
 public:
  Port(Device& dev, uint32_t index) : dev_(dev), index_(index) {}

  /// Sets the queue up on `pool` and starts it (see the file comment). The
  /// caller guarantees no thread polls this queue meanwhile; the others
  /// are paused through the device's pause hook when needed. 0 or -errno;
  /// on failure the queue is left stopped.
  int bind_pool(rte_mempool* pool);
  /// Gives the queue back to the fallback pool (see the file comment).
  /// The caller guarantees no thread polls this queue any more.
  void unbind();
  /// The queue is bound and the port runs: its datapath may poll it.
  bool started() const;

  uint16_t id() const;
  uint16_t queue() const;
  /// Position of this queue among the served ones.
  uint32_t index() const { return index_; }
  int socket() const;
  /// True for a device on the vdev bus: it holds no mbufs between bursts
  /// (it allocates while receiving), so free buffers can gate polling.
  bool is_virtual() const;
  /// Whether the device needs IOVA DMA mappings of external memory.
  bool needs_dma_map() const;
  rte_mempool* fallback_pool() const;
  /// Whether the device can receive into a consumer's area at all
  /// (pmd_reaches_external_memory in pmd_needs.h).
  bool reaches_external_memory() const;
  /// The fewest buffers a pool of this queue must have (pmd_needs.h), 0
  /// when the PMD states no need.
  uint32_t min_pool_buffers() const;
  /// The queue's private pool for copy mode (a regular pktmbuf pool the PMD
  /// receives into; every packet is then copied into the area). Created at
  /// the first call and kept, for reuse, until the device closes. nullptr
  /// when it cannot be created (message on stderr).
  rte_mempool* copy_pool();
  CopyMode copy_mode() const;
  const char* driver() const;
  Device& device() const { return dev_; }

 private:
  Device& dev_;
  uint32_t index_;
};

class Device {
 public:
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  /// Configures `cfg.port` with RX queues 0..max(cfg.queues) (and a TX
  /// queue when the PMD has one); every queue starts on a private fallback
  /// pool. The port starts only when an area is bound: with no consumer
  /// there is nowhere to put packets, and a PMD such as net_pcap with
  /// infinite_rx fills its cache from the first pool it is given.
  /// Returns 0 or -errno (-ENODEV: no such port or queue), after printing
  /// the reason to stderr.
  int open(const PortConfig& cfg);
  /// Stops and closes the port.
  void close();

  /// Called on the control thread with `true` before the whole port stops
  /// (every datapath must stop polling before it returns) and with `false`
  /// once it runs again, or once it started with several queues bound.
  void set_pause_hook(std::function<void(bool pause)> hook) { pause_hook_ = std::move(hook); }
  /// True between the two pause hook calls.
  bool paused() const { return paused_; }

  uint32_t num_queues() const { return static_cast<uint32_t>(queues_.size()); }
  /// The k-th served queue (k < num_queues()).
  Port& queue(uint32_t k) { return *queues_[k]; }
  /// Position of RX queue `rxq` among the served ones, or -1.
  int index_of(uint32_t rxq) const;
  /// Whether `pool` may still be referenced by the PMD (a queue left
  /// unpolled keeps its pool until the next restart): it must not be freed.
  bool uses_pool(const rte_mempool* pool) const;
  bool runtime_queue_setup() const { return runtime_setup_; }
  /// TX queue 0 is set up (the PMD has TX queues).
  bool has_tx_queue() const { return has_tx_; }
  /// TX queues set up (0..n-1).
  uint16_t num_tx_queues() const { return nb_tx_; }
  /// The TX offloads the port was configured with.
  uint64_t tx_offloads() const { return tx_offloads_; }
  /// How the port spreads IPv4/TCP over its RX queues (TCP with several
  /// queues: RSS where the PMD has it, read back after configure); steers
  /// is false otherwise. Valid after open().
  const RssSteering& rss() const { return *rss_; }

  uint16_t id() const { return cfg_.port; }
  int socket() const { return socket_; }
  bool is_virtual() const { return virtual_; }
  bool needs_dma_map() const { return !virtual_; }
  bool reaches_external_memory() const { return reaches_external_; }
  rte_mempool* fallback_pool() const { return fallback_; }
  const char* driver() const { return driver_; }
  CopyMode copy_mode() const { return cfg_.copy_mode; }

 private:
  friend class Port;
  struct QueueState {
    rte_mempool* pool = nullptr;  // what the PMD's queue is set up on
    bool bound = false;           // an area's pool is (to be) in use
    bool stale = false;           // unbound, still set up on the area's pool
    rte_mempool* copy = nullptr;  // private pool of copy mode, once made
    // The PMD could not set the queue up again after an area's pool
    // (net_af_xdp sets a queue up once per port life): it stays on that
    // pool, which cannot be freed, and binds another pool no more.
    bool pinned = false;
    uint32_t min_buffers = 0;     // pmd_min_pool_buffers() of the queue
  };

  rte_mempool* copy_pool(uint32_t k);

  int setup_rx(uint32_t k, rte_mempool* pool);
  /// Fills rss_ from the PMD (`configured`: RSS was asked for), or says on
  /// stderr why CONNECT cannot steer.
  void read_rss(const rte_eth_dev_info& info, bool configured);
  int bind(uint32_t k, rte_mempool* pool);
  void unbind(uint32_t k);
  bool running(uint32_t k) const { return started_ && st_[k].bound && st_[k].pool && !paused_; }
  /// Sets every queue left unpolled on an area's pool (stale) back up on
  /// the fallback pool; the port must be stopped. One that fails stays stale.
  void release_stale();
  int start_port();
  int restart_port(uint32_t k, rte_mempool* pool);
  void pause(bool on);
  bool all_bound() const;

  PortConfig cfg_{};
  int socket_ = 0;
  bool virtual_ = false;
  bool reaches_external_ = true;  // pmd_reaches_external_memory()
  bool runtime_setup_ = false;
  bool has_tx_ = false;
  uint16_t nb_tx_ = 0;
  uint64_t tx_offloads_ = 0;
  bool started_ = false;
  bool paused_ = false;
  bool closed_ = true;
  const char* driver_ = "";
  rte_mempool* fallback_ = nullptr;
  std::unique_ptr<RssSteering> rss_ = std::make_unique<RssSteering>();
  std::vector<std::unique_ptr<Port>> queues_;
  std::vector<QueueState> st_;
  std::function<void(bool)> pause_hook_;
};

}  // namespace zcrxd
