// SPDX-License-Identifier: MIT
// TCP options on the wire (see zcrx/tcp/options.h).
#include "zcrx/tcp/options.h"

#include <cerrno>

namespace zcrx::tcp {
namespace {

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

// SACK blocks that fit beside the other options of `o` (RFC 2018 3: at
// most 4, 3 with timestamps).
uint8_t sack_room(const Options& o) {
  const uint8_t most = o.has_timestamps ? 3 : 4;
  return o.n_sack < most ? o.n_sack : most;
}

}  // namespace

int parse_options(const uint8_t* p, uint32_t len, bool syn, Options& out) {
  out = Options{};
  uint32_t i = 0;
  while (i < len) {
    const uint8_t kind = p[i];
    if (kind == kOptEnd) break;
    if (kind == kOptNop) {
      i++;
      continue;
    }
    if (i + 1 >= len) return -EINVAL;
    const uint8_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) return -EINVAL;
    const uint8_t* v = p + i + 2;
    switch (kind) {
      case kOptMss:
        if (olen != 4) return -EINVAL;
        if (syn) out.mss = get16(v);
        break;
      case kOptWscale:
        if (olen != 3) return -EINVAL;
        if (syn) out.wscale = static_cast<int8_t>(v[0] > kMaxWscale ? kMaxWscale : v[0]);
        break;
      case kOptSackPermitted:
        if (olen != 2) return -EINVAL;
        if (syn) out.sack_permitted = true;
        break;
      case kOptTimestamps:
        if (olen != 10) return -EINVAL;
        out.has_timestamps = true;
        out.tsval = get32(v);
        out.tsecr = get32(v + 4);
        break;
      case kOptSack: {
        const uint32_t body = olen - 2u;
        if (body == 0 || body % 8 != 0 || body / 8 > 4) return -EINVAL;
        if (syn) break;
        out.n_sack = static_cast<uint8_t>(body / 8);
        for (uint32_t b = 0; b < out.n_sack; b++) {
          out.sack[b].left = get32(v + 8 * b);
          out.sack[b].right = get32(v + 8 * b + 4);
        }
        break;
      }
      default:
        break;  // unknown: skipped by its length
    }
    i += olen;
  }
  return 0;
}

uint32_t options_wire_len(const Options& o) {
  uint32_t n = 0;
  if (o.mss) n += 4;
  if (o.has_timestamps) n += 12;  // (SACK-permitted or NOP NOP) + TS
  else if (o.sack_permitted) n += 4;  // NOP NOP SACK-permitted
  if (o.wscale >= 0) n += 4;      // NOP + WS
  const uint8_t blocks = sack_room(o);
  if (blocks) n += 4 + 8u * blocks;  // NOP NOP + SACK
  return n;
}

uint32_t write_options(const Options& o, uint8_t* out, uint32_t cap) {
  const uint32_t need = options_wire_len(o);
  if (need > cap || need > kMaxOptionBytes) return 0;
  uint8_t* p = out;
  if (o.mss) {
    p[0] = kOptMss;
    p[1] = 4;
    put16(p + 2, o.mss);
    p += 4;
  }
  if (o.has_timestamps) {
    if (o.sack_permitted) {
      p[0] = kOptSackPermitted;
      p[1] = 2;
    } else {
      p[0] = kOptNop;
      p[1] = kOptNop;
    }
    p[2] = kOptTimestamps;
    p[3] = 10;
    put32(p + 4, o.tsval);
    put32(p + 8, o.tsecr);
    p += 12;
  } else if (o.sack_permitted) {
    p[0] = kOptNop;
    p[1] = kOptNop;
    p[2] = kOptSackPermitted;
    p[3] = 2;
    p += 4;
  }
  if (o.wscale >= 0) {
    p[0] = kOptNop;
    p[1] = kOptWscale;
    p[2] = 3;
    p[3] = static_cast<uint8_t>(o.wscale);
    p += 4;
  }
  const uint8_t blocks = sack_room(o);
  if (blocks) {
    p[0] = kOptNop;
    p[1] = kOptNop;
    p[2] = kOptSack;
    p[3] = static_cast<uint8_t>(2 + 8 * blocks);
    p += 4;
    for (uint8_t b = 0; b < blocks; b++) {
      put32(p, o.sack[b].left);
      put32(p + 4, o.sack[b].right);
      p += 8;
    }
  }
  return static_cast<uint32_t>(p - out);
}

}  // namespace zcrx::tcp
