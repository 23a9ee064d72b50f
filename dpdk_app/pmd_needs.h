// SPDX-License-Identifier: MIT
// What a PMD needs of the pool a queue is set up on but only tells by
// failing, learnt up front so zcrxd can refuse an area with a reason
// instead of handing the PMD a setup it mishandles.
//
// net_pcap with infinite_rx=1 copies the whole rx_pcap file into mbufs of
// the queue's pool at setup and refuses (-EINVAL) a pool with fewer mbufs
// than the file has frames. The refused setup is not harmless in DPDK
// 22.11: it leaves the file read part way, so the next setup caches only
// the rest of the file and never gives back mbufs it took and could not
// fill. zcrxd therefore checks the area's size itself and never asks.
//
// net_virtio_user over vhost-user accepts a pool over external memory and
// then receives nothing into it (pmd_reaches_external_memory below).
#pragma once

#include <cstdint>

namespace zcrxd {

/// The fewest buffers the pool of RX queue `rxq` of `port` must have, or 0
/// when the PMD states no such need. Reads the device's arguments (and,
/// for net_pcap, counts the frames of the queue's file).
uint32_t pmd_min_pool_buffers(uint16_t port, uint16_t rxq);

/// Whether the device of `port` can write into memory registered with
/// rte_extmem_register, i.e. into a consumer's area. False for
/// net_virtio_user on a vhost-user socket: the backend (another process)
/// reaches only the regions of the memory table virtio_user sends it, which
/// it builds from the file descriptors of the EAL's own segments. External
/// segments have none, and registering them sends no new table, so an area
/// pool binds without error and the backend then drops every packet whose
/// descriptor points into the area.
bool pmd_reaches_external_memory(uint16_t port);

}  // namespace zcrxd
