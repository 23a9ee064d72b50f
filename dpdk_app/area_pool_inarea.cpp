// SPDX-License-Identifier: MIT
// The in-area layout of AreaPool (area_pool.h): a plain pktmbuf mempool
// populated over a zcrxd-made area, one object per niov. What net_af_xdp
// (DPDK 22.11, drivers/net/af_xdp/rte_eth_af_xdp.c) asks of a pool it
// turns into its UMEM:
//  * one memory chunk: the UMEM starts at the first chunk's page and spans
//    populated_size * (header + elt + trailer) bytes, so the objects must
//    be contiguous from there (one rte_mempool_populate_iova call);
//  * a frame is one whole object (rte_mempool_calc_obj_size of the pool's
//    elt_size and flags) and the kernel takes frames of at most a page:
//    the object size is the niov size, 4096 by default;
//  * the fill address of a buffer is its object header's offset in the
//    UMEM, the kernel writes the frame past header + mbuf + headroom (+ its
//    XDP_PACKET_HEADROOM), and the PMD reads the mbuf back from the frame.
// So object i spans [i << shift, (i + 1) << shift): no spreading padding
// (RTE_MEMPOOL_F_NO_SPREAD), a cache-aligned header, elt_size = niov size
// minus that header, and no private area in the mbuf.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include <cerrno>
#include <cstdio>

#include "area_pool.h"

namespace zcrxd {

std::unique_ptr<AreaPool> AreaPool::create_in_area(void* base, size_t len, uint32_t buf_len,
                                                   uint32_t id, int socket, int dma_port,
                                                   int* err) {
  constexpr size_t kPage = 4096;
  *err = -EINVAL;
  if (!base || !len || len % kPage || reinterpret_cast<uintptr_t>(base) % kPage)
    return nullptr;
  if (buf_len < 2048 || buf_len > 65536 || (buf_len & (buf_len - 1)) || len % buf_len)
    return nullptr;
  const size_t n = len / buf_len;
  if (n > UINT32_MAX) return nullptr;
  constexpr uint32_t kFlags = RTE_MEMPOOL_F_NO_SPREAD;
  // The object header's size as the mempool lays it out for these flags.
  rte_mempool_objsz sz{};
  rte_mempool_calc_obj_size(0, kFlags, &sz);
  const uint32_t header = sz.header_size;
  const uint32_t elt = buf_len - header;
  if (rte_mempool_calc_obj_size(elt, kFlags, &sz) != buf_len || sz.trailer_size != 0) {
    std::fprintf(stderr, "zcrxd: in-area pool: objects of %u bytes cannot tile %u-byte niovs\n",
                 sz.total_size, buf_len);
    return nullptr;
  }

  std::unique_ptr<AreaPool> p(new AreaPool());
  p->base_ = static_cast<uint8_t*>(base);
  p->len_ = len;
  p->shift_ = static_cast<uint32_t>(__builtin_ctz(buf_len));
  p->bias_ = header + static_cast<uint32_t>(sizeof(rte_mbuf));
  if ((*err = p->attach_memory(dma_port)) != 0) return nullptr;

  char name[RTE_MEMPOOL_NAMESIZE];
  std::snprintf(name, sizeof(name), "zcrx_area%u", id);
  // As in create(): a per-lcore cache when the pool is large enough.
  const unsigned cache = n >= 768 ? 256 : 0;
  p->pool_ = rte_mempool_create_empty(name, static_cast<unsigned>(n), elt, cache,
                                      sizeof(rte_pktmbuf_pool_private), socket, kFlags);
  if (!p->pool_) {
    *err = -rte_errno;
    std::fprintf(stderr, "zcrxd: in-area pool: %s\n", rte_strerror(rte_errno));
    return nullptr;
  }
  int rc = rte_mempool_set_ops_byname(p->pool_, rte_mbuf_best_mempool_ops(), nullptr);
  if (rc) {
    *err = rc;
    std::fprintf(stderr, "zcrxd: in-area pool ops: %s\n", rte_strerror(-rc));
    return nullptr;
  }
  rte_pktmbuf_pool_private priv{};
  priv.mbuf_data_room_size = static_cast<uint16_t>(elt - sizeof(rte_mbuf));
  priv.mbuf_priv_size = 0;
  rte_pktmbuf_pool_init(p->pool_, &priv);
  // One chunk for the whole area (net_af_xdp maps the UMEM from the first
  // chunk on); populate_virt would split it wherever IOVAs are unknown.
  const bool iova_va = rte_eal_iova_mode() == RTE_IOVA_VA;
  rc = rte_mempool_populate_iova(p->pool_, static_cast<char*>(base),
                                 iova_va ? reinterpret_cast<rte_iova_t>(base) : RTE_BAD_IOVA,
                                 len, nullptr, nullptr);
  if (rc < 0 || static_cast<size_t>(rc) != n || p->pool_->nb_mem_chunks != 1) {
    *err = rc < 0 ? rc : -EINVAL;
    std::fprintf(stderr, "zcrxd: in-area pool: populated %d of %zu objects\n", rc, n);
    return nullptr;
  }
  rte_mempool_obj_iter(p->pool_, rte_pktmbuf_init, nullptr);
  if (!p->map_niovs()) {
    std::fprintf(stderr, "zcrxd: in-area pool objects do not tile the area\n");
    *err = -EINVAL;
    return nullptr;
  }
  *err = 0;
  return p;
}

}  // namespace zcrxd
