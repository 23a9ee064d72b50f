/* SPDX-License-Identifier: MIT */
/*
 * zcrx_rx_c: the smallest zcrx consumer, in C, on libzcrx's C API
 * (zcrx/zcrx.h). Registers an ifq with a fresh area on zcrxd, opens a UDP
 * flow, arms one multishot RECV_ZC, checks every payload byte against the
 * project's pattern (zcrx/pattern.h, restated below in C) and refills every
 * buffer, until it has seen --count datagrams. Prints one summary line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcrx/zcrx.h"

/* Byte i >= 8 of the payload with sequence number seq (zcrx/pattern.h). */
static uint8_t pattern_byte(uint64_t seq, size_t i) {
  return (uint8_t)((seq * 131u) ^ (i * 7u) ^ (i >> 8));
}

static int payload_intact(const uint8_t *p, size_t len) {
  uint64_t seq = 0;
  size_t i;
  if (len < 8) {
    for (i = 0; i < len; i++)
      if (p[i]) return 0;
    return 1;
  }
  for (i = 8; i-- > 0;) seq = (seq << 8) | p[i];
  for (i = 8; i < len; i++)
    if (p[i] != pattern_byte(seq, i)) return 0;
  return 1;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: zcrx_rx_c [--socket PATH] [--port UDP_PORT] [--count N]\n"
          "Minimal C consumer of zcrxd: receives N datagrams (default 1000) of\n"
          "a UDP flow (default port 9000) zero-copy, verifying every byte.\n"
          "Exit status 0 when every payload was intact.\n");
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"socket", required_argument, 0, 's'},
                                       {"port", required_argument, 0, 'p'},
                                       {"count", required_argument, 0, 'n'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *path = NULL;
  unsigned long port = 9000, count = 1000;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case 's': path = optarg; break;
      case 'p': port = strtoul(optarg, NULL, 0); break;
      case 'n': count = strtoul(optarg, NULL, 0); break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (port == 0 || port > 65535) {
    usage(stderr);
    return 2;
  }

  struct zcrx_ring *ring;
  struct zcrx_ifq *ifq;
  struct zcrx_ifq_params params = ZCRX_IFQ_PARAMS_INIT;
  int r, id, flow;
  if ((r = zcrx_ring_new(&ring)) < 0 || (r = zcrx_connect(ring, path)) < 0 ||
      (r = zcrx_create(ring, 64, 4096)) < 0) {
    fprintf(stderr, "zcrx_rx_c: setup: %s\n", strerror(-r));
    return 2;
  }
  if ((id = zcrx_register_ifq(ring, &params, &ifq)) < 0 ||
      (flow = zcrx_open_udp_flow(ring, (uint32_t)id, (uint16_t)port)) < 0) {
    fprintf(stderr, "zcrx_rx_c: register/open flow: %s\n", strerror(id < 0 ? -id : -flow));
    zcrx_ring_free(ring);
    return 2;
  }
  zcrx_prep_recv_zc(zcrx_get_sqe(ring), flow, (uint32_t)id, 0, 1, 1);
  zcrx_submit(ring);

  /* packets: data CQEs; datagrams: CQEs that end one (a datagram over
   * rx_buf_len takes several CQEs). Only one-CQE datagrams are checked. */
  uint64_t packets = 0, datagrams = 0, bytes = 0, bad = 0, unchecked = 0, errors = 0;
  int mid_datagram = 0;
  struct zcrx_cqe32 cqes[64];
  while (datagrams < count) {
    r = zcrx_wait_cqe(ring, 1, ZCRX_WAIT_BUSY_POLL, 5000000000LL);
    if (r < 0) {
      fprintf(stderr, "zcrx_rx_c: wait: %s\n", strerror(-r));
      break;
    }
    unsigned n = zcrx_peek_cqes(ring, cqes, 64);
    for (unsigned i = 0; i < n; i++) {
      const struct zcrx_cqe32 *cq = &cqes[i];
      if (cq->res <= 0) {
        errors += cq->res < 0;
        if (!(cq->flags & ZCRX_CQE_F_MORE)) {  /* request ended: arm again */
          zcrx_prep_recv_zc(zcrx_get_sqe(ring), flow, (uint32_t)id, 0, 1, 1);
          zcrx_submit(ring);
        }
        continue;
      }
      const uint8_t *p = zcrx_ifq_data(ifq, cq);
      if (!p) {
        errors++;
        continue;
      }
      packets++;
      bytes += (uint64_t)cq->res;
      const int end = zcrx_cqe_is_datagram_end(cq);
      if (!mid_datagram && end)
        bad += !payload_intact(p, (size_t)cq->res);
      else
        unchecked++;
      datagrams += end;
      mid_datagram = !end;
      while (!zcrx_ifq_refill(ifq, cq)) zcrx_ifq_flush_refills(ifq);
    }
    zcrx_cq_advance(ring, n);
    zcrx_ifq_flush_refills(ifq);
  }
  printf("zcrx_rx_c: packets=%" PRIu64 " datagrams=%" PRIu64 " bytes=%" PRIu64
         " bad_payloads=%" PRIu64 " unchecked=%" PRIu64 " cqe_errors=%" PRIu64 "\n",
         packets, datagrams, bytes, bad, unchecked, errors);
  zcrx_ring_free(ring); /* ends the session: zcrxd reclaims what we held */
  return bad == 0 && errors == 0 && datagrams >= count ? 0 : 1;
}
