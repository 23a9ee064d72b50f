// SPDX-License-Identifier: MIT
// The datapath lcore: one loop serving the queue and every consumer ring.
//
//   poll every ring's SQ (skipped when empty) -> drain the RQs of the live
//   entries that have RQEs queued (refill_burst, niovs back to the pool in
//   one bulk put) -> rx_burst -> parse and classify the burst (fragments
//   go through IP reassembly first) -> check a UDP flow's checksums ->
//   deliver each packet in place, or copy a foreign segment into free niovs
//   (the copy fallback) -> post CQE32s on the owning ring, the last of each
//   datagram marked -> publish CQ tails, eventfd wakeups (once per ring and
//   iteration at most)
//
// The control thread describes the world in an immutable Snapshot it
// publishes with one atomic pointer store; the loop reads it once per
// iteration and bumps a quiescent epoch between iterations, so control can
// retire the old snapshot (and anything it referenced) after synchronize().
// No lock, allocation or syscall per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "flow.h"
#include "options.h"
#include "packet.h"
#include "reassembly.h"
#include "ring_dp.h"
#include "stats.h"
#include "tcp_stack.h"
#include "zcrx/core/engine.h"
#include "zcrx/ring.h"

struct rte_mbuf;

namespace zcrxd {

class AreaPool;
class Port;

struct FlowMember {
  RingDp* ring;
  uint32_t handle;
};

/// Rings sharing one flow; packets spread over them by flow hash.
struct FlowGroupDp {
  std::vector<FlowMember> members;
};

struct Snapshot {
  std::vector<RingDp*> rings;
  FlowTable flows;
  std::vector<FlowGroupDp> groups;  // indexed by the FlowTable's group ids
  Ifq* real = nullptr;              // real ifq bound to the queue
  AreaPool* pool = nullptr;         // its area's pool
  bool rx = false;                  // the port runs and may be polled
  /// Copy mode: the queue receives into a private pool, every packet is
  /// copied into `pool`'s niovs (Provider::copy_mode of the queue).
  bool copy = false;
  /// Set by Datapath::publish, never reused: what the loop keys its caches
  /// on (a new snapshot may sit where a freed one was).
  uint64_t seq = 0;
};

struct DatapathConfig {
  uint16_t port = 0;
  uint16_t queue = 0;
  uint32_t burst = 32;
  uint32_t rx_gate = 0;
  bool rx_timestamp = false;
  bool gate_on_free_buffers = false;  // virtual PMDs: poll only with room
  /// A ring's SQ is no longer polled once empty this long (0: polled
  /// always). See RingDp::sq_try_sleep and proto.h SQ_WAKEUP.
  uint32_t sq_idle_ms = 0;
  /// Ring slots (RingDp::slot) are below this: zcrxd's --max-rings.
  uint32_t max_rings = 1024;
  RxCsum rx_csum = RxCsum::kAuto;     // --rx-csum
  ReassemblyConfig reassembly;        // --frag-max, --frag-timeout-ms
  /// The PMD reads a local interface (net_af_packet, net_af_xdp) without
  /// reporting checksums a local sender left to offload: the first UDP
  /// checksum drop prints a hint about it, once.
  bool partial_csum_hint = false;
};

class Datapath {
 public:
  Datapath(const DatapathConfig& cfg, DpStats& stats);
  ~Datapath();

  /// Runs the loop until stop(). [datapath thread]
  void run();
  /// One iteration of run(): a quiescent point, then SQs, refills, one rx
  /// burst and the CQ flushes. For benchmarks and tests that drive the loop on
  /// their own thread instead of run() (publish() then does not wait for
  /// it). Returns true when it did any work. [datapath thread]
  bool poll_once();
  /// Asks the loop to end; it flushes its rings before it returns.
  void stop() { stop_.store(true, std::memory_order_release); }

  /// [control] Publishes `next`, waits until the loop no longer uses the
  /// previous snapshot and frees it.
  void publish(std::unique_ptr<Snapshot> next);
  /// [control] Returns after the loop has passed a quiescent point (at once
  /// when it is not running).
  void synchronize();

  /// RECV_ZC requests armed at the last count (stats; counted every 1024
  /// iterations, and at each one while --rx-gate holds the queue).
  uint32_t armed() const { return armed_.load(std::memory_order_relaxed); }
  /// Rings whose SQ the loop polls now (stats; the others sleep).
  uint32_t rings_awake() const { return awake_.load(std::memory_order_relaxed); }
  /// [control] Polls the SQ of the ring in slot `slot` again from the next
  /// iteration (it slept: RingDp::sq_try_sleep). One call per
  /// RingDp::claim_wake() that returned true, so the queue never fills.
  void wake_sq(uint32_t slot);

  /// [before run()] The queue's TCP endpoint (--ip): the loop feeds it ARP,
  /// ICMP and TCP to our addresses, runs its timers and flushes its TX.
  void set_tcp(std::unique_ptr<TcpStack> tcp) { tcp_ = std::move(tcp); }
  TcpStack* tcp() const { return tcp_.get(); }
  /// [control] Runs `f()` on the loop's thread between two iterations and
  /// returns when it has run (at once, on the caller's thread, when the
  /// loop is not running). What TCP sockets need: the engine and the
  /// socket tables are the loop's alone.
  template <class F>
  void run_call(F&& f) {
    using Fn = std::remove_reference_t<F>;
    run_call_raw([](void* a) { (*static_cast<Fn*>(a))(); }, &f);
  }
  /// [control] Ends the TCP endpoint's connections (zcrxd stops; the loop
  /// no longer runs): every niov and mbuf it held comes back.
  void tcp_shutdown() {
    if (tcp_) tcp_->abort_all();
  }

  /// [control] Frees the fragments reassembly holds (counted in
  /// dropped_frag_flushed): the queue is being unbound, and a snapshot
  /// without rx is published (the loop no longer receives).
  void flush_fragments();

 private:
  struct Burst;
  struct BurstView;
  /// Drains the RQs of the bound ifq's entries that have RQEs queued and
  /// puts the freed niovs back into the area pool. Returns the niovs freed.
  uint32_t refill(const Snapshot& s);
  /// Rebuilds watch_ from `s.real`'s entry table.
  void watch_entries(const Snapshot& s);
  /// A new snapshot: the rings to poll, the slot table, the flush list.
  /// Allocates only when the ring count grew (control events, not packets).
  void adopt(const Snapshot& s, uint64_t now);
  /// Polls the SQs of the rings awake; those idle for sq_idle_ms sleep.
  uint32_t poll_sqs(uint64_t now);
  /// Wakes the rings control asked for.
  void drain_wakes(uint64_t now);
  /// Publishes every ring posted to in this iteration; wakes consumers.
  bool flush_rings();
  /// Returns the packets received.
  uint32_t receive(const Snapshot& s);
  /// Parses and classifies the `n` packets of a burst into parsed_ and
  /// group_. kReassembly: fragments go to reassembly (a UDP flow exists);
  /// kTcp: the TCP endpoint claims its frames.
  template <bool kReassembly, bool kTcp>
  void classify_burst(const Snapshot& s, rte_mbuf** pkts, uint16_t n);
  /// Delivers `m`, parsed as `p` and classified to group `g`, or drops it.
  /// kCopy: copy mode, every segment is copied (none is from the area).
  template <bool kCopy>
  void deliver(const Snapshot& s, const BurstView& v, rte_mbuf* m, const ParsedPacket& p,
               uint32_t g, uint64_t tsc, Burst& b);
  /// Delivers the `n` packets of the burst receive() parsed, fragments
  /// through reassembly.
  template <bool kCopy>
  void deliver_burst(const Snapshot& s, rte_mbuf** pkts, uint16_t n, uint64_t tsc, Burst& b);
  /// Takes fragment `m`, parsed as `*p`, into reassembly. Returns the
  /// datagram it completed, parsed into `*p` and classified into `*g`, or
  /// nullptr (held, or dropped and counted).
  rte_mbuf* reassemble(const Snapshot& s, rte_mbuf* m, ParsedPacket* p, uint32_t* g, Burst& b);

  struct DpCall {
    void (*fn)(void*);
    void* arg;
    std::atomic<bool> done{false};
  };
  void run_call_raw(void (*fn)(void*), void* arg);
  /// Runs a call control posted (one load when none is).
  void take_call() {
    // acquire: the call's arguments, written before control's release.
    if (call_.load(std::memory_order_acquire) == nullptr) [[likely]]
      return;
    take_call_slow();
  }
  void take_call_slow();

  DatapathConfig cfg_;
  DpStats& st_;
  std::unique_ptr<TcpStack> tcp_;
  alignas(64) std::atomic<DpCall*> call_{nullptr};
  // The table is created once, with the datapath; the loop alone uses it
  // (and control, through flush_fragments, while the loop does not receive).
  Reassembler frag_{cfg_.reassembly};
  std::atomic<Snapshot*> cur_{nullptr};
  std::unique_ptr<Snapshot> owned_;  // control's copy of what cur_ points to
  // Bumped (seq_cst) at the start of every iteration, before the loop
  // loads cur_; see synchronize().
  alignas(64) std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> armed_{0};
  bool gate_open_ = false;
  bool starved_ = false;
  uint32_t count_tick_ = 0;  // iterations, for the periodic armed count
  bool rx_seen_ = false;     // the last adopted snapshot's rx

  // Rings of the current snapshot (adopt): those whose SQ is polled, all
  // of them by slot, and those posted to in this iteration.
  uint64_t adopted_seq_ = 0;
  std::vector<RingDp*> awake_rings_;
  std::vector<RingDp*> by_slot_;
  DirtyRings dirty_;
  uint64_t sq_idle_cycles_ = 0;
  std::atomic<uint32_t> awake_{0};
  // Slots to wake, from control (one producer) to the loop (one consumer).
  alignas(64) uint32_t wake_head_ = 0;
  alignas(64) uint32_t wake_tail_ = 0;
  std::unique_ptr<uint32_t[]> wake_slots_;
  zcrx::RingProducer<uint32_t> wake_in_;   // control's end
  zcrx::RingConsumer<uint32_t> wake_out_;  // the loop's end
  bool csum_hinted_ = false;  // the partial-checksum hint was printed

  // What receive()'s first pass found for each packet of the burst.
  ParsedPacket parsed_[kMaxBurst];
  uint32_t group_[kMaxBurst];

  // The live entries of the bound ifq with their RQ index words, rebuilt
  // when the table's generation (or the ifq) changes, so an iteration
  // checks each RQ with two loads and drains only those with RQEs queued.
  struct RqWatch {
    Ifq* entry;
    uint32_t* head;  // in the consumer's RQ region: read only
    uint32_t* tail;
  };
  RqWatch watch_[zcrx::core::kMaxEntriesPerIfq];
  uint32_t watch_n_ = 0;
  uint32_t watch_gen_ = 0;
  uint64_t watch_snap_ = 0;  // Snapshot::seq the table was built under
  uint64_t publish_seq_ = 0; // [control] last Snapshot::seq handed out
};

}  // namespace zcrxd
