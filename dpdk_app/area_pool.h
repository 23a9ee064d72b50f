// SPDX-License-Identifier: MIT
// An RX mempool whose every buffer is a niov of a consumer's area: the area
// memfd mapping is registered as external memory (rte_extmem_register, plus
// rte_dev_dma_map where the device needs IOVA) and the pool is built over
// it with rte_pktmbuf_pool_create_extbuf, so the PMD writes packets straight
// into the area. Each mbuf stays attached to one niov for the pool's whole
// life; a fixed table maps niov index -> mbuf and the buffer address maps
// back (idx = (buf_addr - area base) >> niov_shift).
//
// Two layouts (docs/ARCHITECTURE.md, Memory):
//  * extbuf (create): mbuf headers in zcrxd's own memory, each niov is a
//    whole buffer: the payload of niov i starts at i << niov_shift.
//  * in-area (create_in_area, a zcrxd-made area only): a plain mempool
//    populated over the area, object header, mbuf header and data buffer
//    of niov i all inside [i << shift, (i + 1) << shift). net_af_xdp needs
//    this (its UMEM is the pool's memory, headers included) and then XDP
//    writes packets straight into the area. The buffer of niov i starts
//    payload_bias() bytes into it. Safe only because nobody but zcrxd can
//    write the area (create_zcrxd_area seals it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace zcrxd {

class AreaPool {
 public:
  static constexpr uint32_t kPutBatch = 64;  // mbufs per bulk put or free

  /// Builds the pool over `len` bytes at `base` (page aligned, a multiple
  /// of `buf_len`, which is a power of two >= 2048). `dma_port` >= 0 maps
  /// the memory for that port's device. Returns nullptr and sets `*err`
  /// (-EINVAL, -ENOMEM, -errno from DPDK) on failure.
  static std::unique_ptr<AreaPool> create(void* base, size_t len, uint32_t buf_len,
                                          uint32_t id, int socket, int dma_port,
                                          int* err);
  /// Builds an in-area pool over `len` bytes at `base` (page aligned, a
  /// multiple of `buf_len`, a power of two in [2048, 65536]): niov i is
  /// the mempool object whose header starts at base + i * buf_len. Same
  /// errors as create(). Only for memory no consumer can write.
  static std::unique_ptr<AreaPool> create_in_area(void* base, size_t len, uint32_t buf_len,
                                                  uint32_t id, int socket, int dma_port,
                                                  int* err);
  ~AreaPool();
  AreaPool(const AreaPool&) = delete;
  AreaPool& operator=(const AreaPool&) = delete;

  rte_mempool* pool() const { return pool_; }
  uint8_t* base() const { return base_; }
  size_t len() const { return len_; }
  uint32_t num_niovs() const { return static_cast<uint32_t>(mbufs_.size()); }
  uint32_t niov_shift() const { return shift_; }
  /// Bytes per niov (rx_buf_len).
  uint32_t niov_size() const { return 1u << shift_; }
  /// Where a niov's mbuf buffer (buf_addr) starts inside the niov: 0 for
  /// extbuf, past the object and mbuf headers in-area. A CQE's offset
  /// inside niov idx is payload_bias() + data_off + header bytes skipped.
  uint32_t payload_bias() const { return bias_; }
  /// Bytes of a niov's buffer (what data_off + data_len may reach).
  uint32_t buf_room() const { return (1u << shift_) - bias_; }
  /// The mbuf headers live in the area (create_in_area).
  bool in_area() const { return bias_ != 0; }
  /// First byte of niov `idx`'s buffer.
  uint8_t* buf_of(uint32_t idx) const { return base_ + (size_t{idx} << shift_) + bias_; }

  /// niov index of the buffer `m` is attached to, or UINT32_MAX when `m`
  /// is not one of this pool's buffers (e.g. a PMD handed over a foreign
  /// mbuf). The pool's mbufs are pinned to their niov for life, so the
  /// owning pool (a field on the mbuf line next to `next`, which the
  /// datapath reads anyway) and the buffer address decide it; the reverse
  /// table is not touched.
  uint32_t niov_of(const rte_mbuf* m) const { return map().niov_of(m); }

  /// What niov_of() reads, as values: a caller that looks up a whole burst
  /// keeps it in registers (the pool's own fields would be reloaded after
  /// every store to an mbuf, which may alias them as far as the compiler
  /// knows).
  struct NiovMap {
    const rte_mempool* pool;
    uintptr_t base;
    size_t len;
    uint32_t shift;
    uint32_t niov_of(const rte_mbuf* m) const {
      if (m->pool != pool) return UINT32_MAX;
      // One compare: below the base wraps to far past the end.
      const uintptr_t rel = reinterpret_cast<uintptr_t>(m->buf_addr) - base;
      if (rel >= len) return UINT32_MAX;
      return static_cast<uint32_t>(rel >> shift);
    }
  };
  NiovMap map() const { return {pool_, reinterpret_cast<uintptr_t>(base_), len_, shift_}; }
  /// The mbuf attached to niov `idx` (< num_niovs()).
  rte_mbuf* mbuf(uint32_t idx) const { return mbufs_[idx]; }

  /// Buffers currently in the pool (not held by the PMD, the datapath or
  /// consumers). Sums every lcore's cache: a control-side figure.
  unsigned available() const;
  /// Buffers the calling thread can allocate now: the pool's shared store
  /// plus this lcore's cache (other lcores' caches are out of its reach).
  /// A few loads, for the datapath's per-iteration gate. [datapath]
  unsigned available_here() const {
    // The pool driver's count of its shared store: what
    // rte_mempool_avail_count starts from, before it walks every lcore's
    // cache (rte_mempool_ops_get_count is not exported).
    unsigned n = rte_mempool_get_ops(pool_->ops_index)->get_count(pool_);
    if (const rte_mempool_cache* c = rte_mempool_default_cache(pool_, rte_lcore_id()))
      n += c->len;
    return n;
  }
  /// Puts `n` niovs (indices < num_niovs(), held by nobody) back into the
  /// pool in one bulk put. Their mbufs are as the datapath left them:
  /// single-segment, one reference, on their pinned niov, so the PMD may
  /// take them again with a raw allocation. [datapath]
  void put_niovs(const uint32_t* idx, uint32_t n) const {
    rte_mbuf* batch[kPutBatch];
    while (n) {
      const uint32_t k = n < kPutBatch ? n : kPutBatch;
      for (uint32_t i = 0; i < k; i++) batch[i] = mbufs_[idx[i]];
      rte_mempool_put_bulk(pool_, reinterpret_cast<void**>(batch), k);
      idx += k;
      n -= k;
    }
  }
  /// Frees the mbufs of niovs `idx[0..n)` (rte_pktmbuf_free_bulk, in
  /// batches of kPutBatch); indices >= num_niovs() are skipped. Safe from
  /// the datapath lcore (through its cache) and from a non-EAL thread
  /// (straight to the pool's ring): the BufferSink's return path.
  void free_niovs(const uint32_t* idx, uint32_t n) const;
  /// True when every buffer is back.
  bool full() const;
  /// After the device that received into this pool closed, with no
  /// datapath running and nobody else holding a buffer: puts back every
  /// buffer that is not in the pool and returns how many. net_af_xdp
  /// (22.11) never gives back the mbufs of its fill ring, not even when it
  /// closes (its UMEM is then gone, so the kernel no longer writes them).
  /// [control, at exit]
  uint32_t take_back_after_close();

 private:
  AreaPool() = default;
  /// rte_extmem_register and, for a device that needs it, rte_dev_dma_map
  /// of [base_, base_ + len_). 0 or -errno.
  int attach_memory(int dma_port);
  /// Fills mbufs_ from the pool's objects; false when they do not tile
  /// the area one per niov at payload_bias().
  bool map_niovs();

  uint8_t* base_ = nullptr;
  size_t len_ = 0;
  uint32_t shift_ = 0;
  uint32_t bias_ = 0;  // payload_bias()
  int dma_port_ = -1;
  bool registered_ = false;
  bool dma_mapped_ = false;
  rte_mempool* pool_ = nullptr;
  std::vector<rte_mbuf*> mbufs_;
};

}  // namespace zcrxd
