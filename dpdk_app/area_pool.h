// SPDX-License-Identifier: MIT
// An RX mempool whose every buffer is a niov of a consumer's area: the area
// memfd mapping is registered as external memory (rte_extmem_register, plus
// rte_dev_dma_map where the device needs IOVA) and the pool is built over
// it with rte_pktmbuf_pool_create_extbuf, so the PMD writes packets straight
// into the area. Each mbuf stays attached to one niov for the pool's whole
// life; a fixed table maps niov index -> mbuf and the buffer address maps
// back (idx = (buf_addr - area base) >> niov_shift).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_mbuf.h>

namespace zcrxd {

class AreaPool {
 public:
  /// Builds the pool over `len` bytes at `base` (page aligned, a multiple
  /// of `buf_len`, which is a power of two >= 2048). `dma_port` >= 0 maps
  /// the memory for that port's device. Returns nullptr and sets `*err`
  /// (-EINVAL, -ENOMEM, -errno from DPDK) on failure.
  static std::unique_ptr<AreaPool> create(void* base, size_t len, uint32_t buf_len,
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

  /// niov index of the buffer `m` is attached to, or UINT32_MAX when `m`
  /// is not one of this pool's buffers (e.g. a PMD handed over a foreign
  /// mbuf).
  uint32_t niov_of(const rte_mbuf* m) const {
    uintptr_t a = reinterpret_cast<uintptr_t>(m->buf_addr);
    uintptr_t b = reinterpret_cast<uintptr_t>(base_);
    if (a < b || a - b >= len_) return UINT32_MAX;
    uint32_t idx = static_cast<uint32_t>((a - b) >> shift_);
    return mbufs_[idx] == m ? idx : UINT32_MAX;
  }
  /// The mbuf attached to niov `idx` (< num_niovs()).
  rte_mbuf* mbuf(uint32_t idx) const { return mbufs_[idx]; }

  /// Buffers currently in the pool (not held by the PMD, the datapath or
  /// consumers).
  unsigned available() const;
  /// True when every buffer is back.
  bool full() const;

 private:
  AreaPool() = default;

  uint8_t* base_ = nullptr;
  size_t len_ = 0;
  uint32_t shift_ = 0;
  int dma_port_ = -1;
  bool registered_ = false;
  bool dma_mapped_ = false;
  rte_mempool* pool_ = nullptr;
  std::vector<rte_mbuf*> mbufs_;
};

}  // namespace zcrxd
