// SPDX-License-Identifier: MIT
// INTERIM, TO BE REPLACED by the engine's tcp/src/options.cpp (see the
// header).
#include "tcp_options_interim.h"

#include <cerrno>

#include "ether.h"

namespace zcrxd::tcp_interim {

using zcrx::tcp::Options;

namespace {

// The length each known kind must have (0: variable or unknown).
uint8_t fixed_len(uint8_t kind) {
  switch (kind) {
    case kOptMss: return 4;
    case kOptWscale: return 3;
    case kOptSackPermitted: return 2;
    case kOptTimestamps: return 10;
    default: return 0;
  }
}

uint8_t sack_blocks_to_write(const Options& o) {
  const uint8_t room = o.has_timestamps ? 3 : 4;
  return o.n_sack < room ? o.n_sack : room;
}

}  // namespace

int parse_options(const uint8_t* p, uint32_t len, bool syn, Options& out) {
  out = Options{};
  for (uint32_t i = 0; i < len;) {
    const uint8_t kind = p[i];
    if (kind == kOptEnd) break;
    if (kind == kOptNop) {
      i++;
      continue;
    }
    if (len - i < 2) return -EINVAL;
    const uint8_t olen = p[i + 1];
    if (olen < 2 || olen > len - i) return -EINVAL;
    if (fixed_len(kind) && olen != fixed_len(kind)) return -EINVAL;
    const uint8_t* v = p + i + 2;
    switch (kind) {
      case kOptMss:
        if (syn) out.mss = load_be16(v);
        break;
      case kOptWscale:
        if (syn) out.wscale = static_cast<int8_t>(v[0] < kMaxWscale ? v[0] : kMaxWscale);
        break;
      case kOptSackPermitted:
        if (syn) out.sack_permitted = true;
        break;
      case kOptTimestamps:
        out.has_timestamps = true;
        out.tsval = load_be32(v);
        out.tsecr = load_be32(v + 4);
        break;
      case kOptSack: {
        const uint32_t body = olen - 2u;
        if (body == 0 || body % 8 || body / 8 > 4) return -EINVAL;
        if (syn) break;
        out.n_sack = static_cast<uint8_t>(body / 8);
        for (uint32_t b = 0; b < out.n_sack; b++) {
          out.sack[b].left = load_be32(v + 8 * b);
          out.sack[b].right = load_be32(v + 8 * b + 4);
        }
        break;
      }
      default:
        break;
    }
    i += olen;
  }
  return 0;
}

uint32_t options_wire_len(const Options& o) {
  uint32_t n = o.mss ? 4 : 0;
  if (o.has_timestamps) n += 12;
  else if (o.sack_permitted) n += 4;
  if (o.wscale >= 0) n += 4;
  if (const uint8_t b = sack_blocks_to_write(o)) n += 4 + 8u * b;
  return n;
}

uint32_t write_options(const Options& o, uint8_t* out, uint32_t cap) {
  const uint32_t need = options_wire_len(o);
  if (need > cap || need > kMaxOptionBytes) return 0;
  uint8_t* p = out;
  auto word = [&p](uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    p[0] = a, p[1] = b, p[2] = c, p[3] = d;
    p += 4;
  };
  if (o.mss) word(kOptMss, 4, static_cast<uint8_t>(o.mss >> 8), static_cast<uint8_t>(o.mss));
  if (o.has_timestamps) {
    if (o.sack_permitted) word(kOptSackPermitted, 2, kOptTimestamps, 10);
    else word(kOptNop, kOptNop, kOptTimestamps, 10);
    store_be32(p, o.tsval);
    store_be32(p + 4, o.tsecr);
    p += 8;
  } else if (o.sack_permitted) {
    word(kOptNop, kOptNop, kOptSackPermitted, 2);
  }
  if (o.wscale >= 0) word(kOptNop, kOptWscale, 3, static_cast<uint8_t>(o.wscale));
  if (const uint8_t b = sack_blocks_to_write(o)) {
    word(kOptNop, kOptNop, kOptSack, static_cast<uint8_t>(2 + 8 * b));
    for (uint8_t k = 0; k < b; k++) {
      store_be32(p, o.sack[k].left);
      store_be32(p + 4, o.sack[k].right);
      p += 8;
    }
  }
  return static_cast<uint32_t>(p - out);
}

}  // namespace zcrxd::tcp_interim
