// SPDX-License-Identifier: MIT
#include "area_pool.h"

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_memory.h>
#include <rte_mempool.h>

#include <cerrno>
#include <cstdio>

namespace zcrxd {

namespace {

constexpr size_t kPage = 4096;

struct IterCtx {
  uint8_t* base;
  size_t len;
  uint32_t shift;
  uint32_t bias;
  std::vector<rte_mbuf*>* table;
  bool bad;
};

void record_mbuf(rte_mempool*, void* arg, void* obj, unsigned) {
  auto* c = static_cast<IterCtx*>(arg);
  auto* m = static_cast<rte_mbuf*>(obj);
  uintptr_t a = reinterpret_cast<uintptr_t>(m->buf_addr);
  uintptr_t b = reinterpret_cast<uintptr_t>(c->base);
  if (a < b || a - b >= c->len || ((a - b) & ((1u << c->shift) - 1)) != c->bias) {
    c->bad = true;
    return;
  }
  size_t idx = (a - b) >> c->shift;
  if ((*c->table)[idx]) c->bad = true;
  (*c->table)[idx] = m;
}

}  // namespace

std::unique_ptr<AreaPool> AreaPool::create(void* base, size_t len, uint32_t buf_len,
                                           uint32_t id, int socket, int dma_port,
                                           int* err) {
  *err = -EINVAL;
  if (!base || !len || len % kPage || reinterpret_cast<uintptr_t>(base) % kPage)
    return nullptr;
  if (buf_len < 2048 || (buf_len & (buf_len - 1)) || len % buf_len) return nullptr;
  size_t n = len / buf_len;
  if (n > UINT32_MAX) return nullptr;

  std::unique_ptr<AreaPool> p(new AreaPool());
  p->base_ = static_cast<uint8_t*>(base);
  p->len_ = len;
  p->shift_ = static_cast<uint32_t>(__builtin_ctz(buf_len));

  if ((*err = p->attach_memory(dma_port)) != 0) return nullptr;
  *err = -EINVAL;
  const bool iova_va = rte_eal_iova_mode() == RTE_IOVA_VA;
  rte_pktmbuf_extmem ext{};
  ext.buf_ptr = base;
  ext.buf_iova = iova_va ? reinterpret_cast<rte_iova_t>(base) : RTE_BAD_IOVA;
  ext.buf_len = len;
  ext.elt_size = static_cast<uint16_t>(buf_len > UINT16_MAX ? 0 : buf_len);
  if (!ext.elt_size) return nullptr;  // mbuf buffers are at most 64 KiB
  char name[RTE_MEMPOOL_NAMESIZE];
  std::snprintf(name, sizeof(name), "zcrx_area%u", id);
  // A per-lcore cache keeps the datapath's alloc/free off the shared ring;
  // mempool requires cache * 1.5 <= n.
  unsigned cache = n >= 768 ? 256 : 0;
  p->pool_ = rte_pktmbuf_pool_create_extbuf(name, static_cast<unsigned>(n), cache, 0,
                                            static_cast<uint16_t>(buf_len), socket,
                                            &ext, 1);
  if (!p->pool_) {
    *err = -rte_errno;
    std::fprintf(stderr, "zcrxd: rte_pktmbuf_pool_create_extbuf: %s\n",
                 rte_strerror(rte_errno));
    return nullptr;
  }
  if (!p->map_niovs()) {
    std::fprintf(stderr, "zcrxd: extbuf pool buffers do not tile the area\n");
    *err = -EINVAL;
    return nullptr;
  }
  *err = 0;
  return p;
}

int AreaPool::attach_memory(int dma_port) {
  int rc = rte_extmem_register(base_, len_, nullptr, 0, kPage);
  if (rc) {
    std::fprintf(stderr, "zcrxd: rte_extmem_register: %s\n", rte_strerror(rte_errno));
    return -rte_errno;
  }
  registered_ = true;
  if (dma_port < 0) return 0;
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(static_cast<uint16_t>(dma_port), &info) != 0 || !info.device)
    return 0;
  if (rte_eal_iova_mode() != RTE_IOVA_VA) {
    // memfd pages have no contiguous physical addresses to hand a NIC.
    std::fprintf(stderr, "zcrxd: device DMA needs IOVA as VA (--iova-mode=va)\n");
    return -EOPNOTSUPP;
  }
  rc = rte_dev_dma_map(info.device, base_, reinterpret_cast<uint64_t>(base_), len_);
  if (rc == 0) {
    dma_mapped_ = true;
    dma_port_ = dma_port;
  } else if (rte_errno != ENOTSUP) {
    std::fprintf(stderr, "zcrxd: rte_dev_dma_map: %s\n", rte_strerror(rte_errno));
    return -rte_errno;
  }
  return 0;
}

bool AreaPool::map_niovs() {
  mbufs_.assign(len_ >> shift_, nullptr);
  IterCtx c{base_, len_, shift_, bias_, &mbufs_, false};
  rte_mempool_obj_iter(pool_, record_mbuf, &c);
  for (rte_mbuf* m : mbufs_)
    if (!m) c.bad = true;
  return !c.bad;
}

AreaPool::~AreaPool() {
  if (pool_) rte_mempool_free(pool_);
  if (dma_mapped_) {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(static_cast<uint16_t>(dma_port_), &info) == 0 && info.device)
      rte_dev_dma_unmap(info.device, base_, reinterpret_cast<uint64_t>(base_), len_);
  }
  if (registered_) rte_extmem_unregister(base_, len_);
}

unsigned AreaPool::available() const { return rte_mempool_avail_count(pool_); }
bool AreaPool::full() const { return rte_mempool_full(pool_) != 0; }

uint32_t AreaPool::take_back_after_close() {
  // Every lcore's cache into the shared store, then the store emptied to
  // see which niovs it holds; the rest were the device's.
  for (unsigned l = 0; l < RTE_MAX_LCORE; l++)
    if (rte_mempool_cache* c = rte_mempool_default_cache(pool_, l))
      rte_mempool_cache_flush(c, pool_);
  const uint32_t n = num_niovs();
  std::vector<void*> objs(n);
  uint32_t got = 0;
  while (got < n && rte_mempool_generic_get(pool_, &objs[got], 1, nullptr) == 0) got++;
  std::vector<bool> in_pool(n, false);
  for (uint32_t i = 0; i < got; i++) {
    const uint32_t idx = niov_of(static_cast<rte_mbuf*>(objs[i]));
    if (idx < n) in_pool[idx] = true;
  }
  uint32_t taken = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (in_pool[i]) continue;
    rte_pktmbuf_reset(mbufs_[i]);  // as the device left it: one reference
    rte_mbuf_refcnt_set(mbufs_[i], 1);
    objs[got + taken++] = mbufs_[i];
  }
  rte_mempool_generic_put(pool_, objs.data(), got + taken, nullptr);
  return taken;
}

void AreaPool::free_niovs(const uint32_t* idx, uint32_t n) const {
  rte_mbuf* batch[kPutBatch];
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (idx[i] >= num_niovs()) continue;  // the engine validated it
    batch[k++] = mbufs_[idx[i]];
    if (k == kPutBatch) {
      rte_pktmbuf_free_bulk(batch, k);
      k = 0;
    }
  }
  if (k) rte_pktmbuf_free_bulk(batch, k);
}

}  // namespace zcrxd
