// SPDX-License-Identifier: MIT
// Frame storage of one relay direction: fixed-size slots allocated once,
// a free stack, each slot's frame length. A frame stays in its slot from
// receipt until it is sent (or dropped), whatever delay or hold it gets.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace zcrx::tools {

class SlotPool {
 public:
  SlotPool(uint32_t slots, uint32_t slot_size)
      : slot_size_(slot_size), bytes_(static_cast<size_t>(slots) * slot_size), len_(slots) {
    free_.reserve(slots);
    for (uint32_t i = slots; i-- > 0;) free_.push_back(i);
  }

  uint32_t slot_size() const { return slot_size_; }
  size_t in_use() const { return len_.size() - free_.size(); }

  std::optional<uint32_t> alloc() {
    if (free_.empty()) return std::nullopt;
    const uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  void free(uint32_t s) { free_.push_back(s); }

  uint8_t* data(uint32_t s) { return bytes_.data() + static_cast<size_t>(s) * slot_size_; }
  uint32_t& len(uint32_t s) { return len_[s]; }

 private:
  uint32_t slot_size_;
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> len_;
  std::vector<uint32_t> free_;
};

}  // namespace zcrx::tools
