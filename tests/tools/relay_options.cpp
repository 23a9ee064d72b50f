// SPDX-License-Identifier: MIT
#include "relay_options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace zcrx::tools {

namespace {

bool parse_u64(const char* s, uint64_t* out) {
  if (!s || !*s || *s == '-') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool parse_u32(const char* s, uint32_t* out) {
  uint64_t v;
  if (!parse_u64(s, &v) || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool parse_double(const char* s, double* out) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (errno || *end || !(v >= 0)) return false;
  *out = v;
  return true;
}

bool parse_probability(const char* s, double* out) { return parse_double(s, out) && *out <= 1; }

/// Applies one impairment option (`key` without the direction suffix) to
/// `cfg`; false when `key` is not one or the value is bad (then *bad_value).
bool apply_impairment(std::string_view key, const char* value, ImpairConfig* cfg,
                      bool* bad_value) {
  bool ok;
  if (key == "loss") ok = parse_probability(value, &cfg->loss);
  else if (key == "dup") ok = parse_probability(value, &cfg->duplicate);
  else if (key == "reorder") ok = parse_probability(value, &cfg->reorder);
  else if (key == "reorder-frames") ok = parse_u32(value, &cfg->reorder_frames);
  else if (key == "reorder-us") ok = parse_u32(value, &cfg->reorder_us);
  else if (key == "delay-us") ok = parse_u32(value, &cfg->delay_us);
  else if (key == "jitter-us") ok = parse_u32(value, &cfg->jitter_us);
  else return false;
  *bad_value = !ok;
  return true;
}

RelayParse fail(std::string why) {
  RelayParse r;
  r.error = std::move(why);
  return r;
}

std::string check(const RelayOptions& o) {
  if (o.if_a.empty() || o.if_b.empty()) return "--if-a and --if-b are required";
  if (o.if_a == o.if_b) return "--if-a and --if-b must differ";
  if (o.slots < 64) return "--slots must be at least 64";
  if (o.ring_kb < 256) return "--ring-kb must be at least 256";
  for (const char* d : {"ab", "ba"}) {
    const ImpairConfig& c = o.dir[d[0] == 'a' ? kAtoB : kBtoA];
    if (c.reorder > 0 && c.reorder_us == 0)
      return std::string("--reorder-us-") + d + " must be > 0: a held frame needs a time limit";
  }
  return {};
}

}  // namespace

RelayParse parse_relay_options(int argc, const char* const* argv) {
  RelayOptions o;
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      RelayParse r;
      r.help = true;
      return r;
    }
    if (arg.substr(0, 2) != "--") return fail("unexpected argument: " + std::string(arg));
    std::string key(arg.substr(2));
    const char* value = nullptr;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = argv[i] + 2 + eq + 1;
      key.resize(eq);
    }
    // Flags first: they take no value.
    bool* flag = key == "impair-arp"     ? &o.impair_arp
                 : key == "keep-gro"     ? &o.keep_gro
                 : key == "see-outgoing" ? &o.see_outgoing
                                         : nullptr;
    if (flag) {
      if (value) return fail("--" + key + " takes no value");
      *flag = true;
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) return fail("--" + key + " needs a value");
      value = argv[++i];
    }
    bool ok = true;
    if (key == "if-a") o.if_a = value;
    else if (key == "if-b") o.if_b = value;
    else if (key == "seed") ok = parse_u64(value, &o.seed);
    else if (key == "stats") ok = parse_double(value, &o.stats_s);
    else if (key == "slots") ok = parse_u32(value, &o.slots);
    else if (key == "hold") ok = parse_u32(value, &o.hold) && o.hold > 0;
    else if (key == "ring-kb") ok = parse_u32(value, &o.ring_kb);
    else {
      // An impairment: both directions, or one with -ab / -ba.
      std::string_view k = key;
      int only = -1;
      if (k.size() > 3 && (k.ends_with("-ab") || k.ends_with("-ba"))) {
        only = k.ends_with("-ab") ? kAtoB : kBtoA;
        k.remove_suffix(3);
      }
      bool bad = false;
      bool known = true;
      for (unsigned d = kAtoB; d <= kBtoA && known; d++)
        if (only < 0 || static_cast<unsigned>(only) == d)
          known = apply_impairment(k, value, &o.dir[d], &bad) && !bad;
      if (!known && !bad) return fail("unknown option --" + key);
      ok = !bad;
    }
    if (!ok) return fail("bad value for --" + key + ": " + value);
  }
  if (auto why = check(o); !why.empty()) return fail(why);
  RelayParse r;
  r.options = o;
  return r;
}

const char* relay_usage() {
  return "usage: impair_relay --if-a IFACE --if-b IFACE [options]\n"
         "Forwards every Ethernet frame between two interfaces (AF_PACKET), both ways,\n"
         "impairing each direction as told. Frames it sent itself are never forwarded.\n"
         "Counters go to stdout as one JSON line: STATS {...} every --stats seconds,\n"
         "FINAL {...} at SIGINT/SIGTERM.\n"
         "\n"
         "Impairments (both directions; add -ab for A->B only, -ba for B->A only):\n"
         "  --loss P             drop a frame with probability P (0..1)\n"
         "  --dup P              send a frame twice with probability P\n"
         "  --reorder P          hold a frame back with probability P, until...\n"
         "  --reorder-frames N   ...N later frames went out (default 3; 0: no limit)\n"
         "  --reorder-us T       ...or T microseconds passed (default 10000; > 0)\n"
         "  --delay-us D         delay every frame by D microseconds\n"
         "  --jitter-us J        ...plus or minus up to J (order is kept)\n"
         "Other options:\n"
         "  --seed N             seed of the impairment decisions (default 1)\n"
         "  --stats S            print counters every S seconds (default: only at exit)\n"
         "  --slots N            frames queued per direction (default 4096)\n"
         "  --hold N             frames held for reordering at once (default 256)\n"
         "  --ring-kb N          receive ring per interface in KiB (default 8192)\n"
         "  --impair-arp         impair ARP frames too (default: delay only)\n"
         "  --keep-gro           leave GRO on the interfaces as it is (default: off)\n"
         "  --see-outgoing       have the kernel deliver outgoing frames too, and skip\n"
         "                       them here (what a kernel without PACKET_IGNORE_OUTGOING\n"
         "                       does; for tests)\n"
         "  --help               this text\n";
}

}  // namespace zcrx::tools
