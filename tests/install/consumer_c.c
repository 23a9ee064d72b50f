/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree C consumer built against the installed libzcrx with
 * nothing but `pkg-config --cflags --libs libzcrx`: receives COUNT
 * datagrams of pcap_gen's pattern on a UDP port and checks that each
 * sequence number 1..COUNT arrives exactly once with every byte intact.
 * Prints "consumer_c: ok datagrams=N bytes=B" and exits 0, else 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zcrx/zcrx.h>

static int intact(const uint8_t *p, size_t len, uint64_t *seq) {
  size_t i;
  *seq = 0;
  if (len < 8) return 0;
  for (i = 8; i-- > 0;) *seq = (*seq << 8) | p[i];
  for (i = 8; i < len; i++)
    if (p[i] != (uint8_t)((*seq * 131u) ^ (i * 7u) ^ (i >> 8))) return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: consumer_c SOCKET PORT COUNT\n");
    return 2;
  }
  const uint16_t port = (uint16_t)strtoul(argv[2], NULL, 0);
  const unsigned long count = strtoul(argv[3], NULL, 0);
  unsigned char *seen = calloc(count + 1, 1);
  struct zcrx_ring *ring;
  struct zcrx_ifq *ifq;
  struct zcrx_ifq_params params = ZCRX_IFQ_PARAMS_INIT;
  params.area_len = (size_t)16 << 20;
  int id, flow, r;
  if (!seen || zcrx_ring_new(&ring) < 0) return 1;
  if ((r = zcrx_connect(ring, argv[1])) < 0 || (r = zcrx_create(ring, 64, 4096)) < 0 ||
      (r = id = zcrx_register_ifq(ring, &params, &ifq)) < 0 ||
      (r = flow = zcrx_open_udp_flow(ring, (uint32_t)id, port)) < 0) {
    fprintf(stderr, "consumer_c: setup: %s\n", strerror(-r));
    return 1;
  }
  zcrx_prep_recv_zc(zcrx_get_sqe(ring), flow, (uint32_t)id, 0, 1, 1);
  zcrx_submit(ring);
  unsigned long datagrams = 0, bad = 0;
  unsigned long long bytes = 0;
  struct zcrx_cqe32 c[64];
  while (datagrams < count && bad == 0) {
    if ((r = zcrx_wait_cqe(ring, 1, ZCRX_WAIT_BUSY_POLL, 10000000000LL)) < 0) {
      fprintf(stderr, "consumer_c: wait: %s after %lu\n", strerror(-r), datagrams);
      break;
    }
    unsigned n = zcrx_peek_cqes(ring, c, 64);
    for (unsigned i = 0; i < n; i++) {
      const uint8_t *p = zcrx_ifq_data(ifq, &c[i]);
      uint64_t seq;
      if (!p || !zcrx_cqe_is_datagram_end(&c[i]) || !intact(p, (size_t)c[i].res, &seq) ||
          seq == 0 || seq > count || seen[seq]++) {
        bad++;
        continue;
      }
      datagrams++;
      bytes += (unsigned long long)c[i].res;
      while (!zcrx_ifq_refill(ifq, &c[i])) zcrx_ifq_flush_refills(ifq);
    }
    zcrx_cq_advance(ring, n);
    zcrx_ifq_flush_refills(ifq);
  }
  zcrx_ring_free(ring);
  free(seen);
  if (bad || datagrams != count) {
    fprintf(stderr, "consumer_c: datagrams=%lu bad=%lu\n", datagrams, bad);
    return 1;
  }
  printf("consumer_c: ok datagrams=%lu bytes=%llu\n", datagrams, bytes);
  return 0;
}
