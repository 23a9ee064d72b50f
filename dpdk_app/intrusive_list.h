// SPDX-License-Identifier: MIT
// A doubly linked list threaded through fields of its members, for the
// datapath's work lists (sockets to service, sockets waiting for CQ room,
// connections short of buffers): O(1) insert and removal, no allocation,
// and a flag in the member that makes both idempotent, so code that finds
// an object twice needs no check of its own.
#pragma once

namespace zcrxd {

/// `In`, `Prev` and `Next` name the member's flag and link fields; an
/// object is on at most one list per set of fields.
template <class T, bool T::*In, T* T::*Prev, T* T::*Next>
class IntrusiveList {
 public:
  bool empty() const { return head_ == nullptr; }
  T* front() const { return head_; }

  /// Puts `x` first; nothing if it is on the list already.
  void push_front(T& x) {
    if (x.*In) return;
    x.*In = true;
    x.*Prev = nullptr;
    x.*Next = head_;
    if (head_) head_->*Prev = &x;
    head_ = &x;
  }

  /// Takes `x` off; nothing if it is not on the list.
  void remove(T& x) {
    if (!(x.*In)) return;
    if (x.*Prev) (x.*Prev)->*Next = x.*Next;
    else head_ = x.*Next;
    if (x.*Next) (x.*Next)->*Prev = x.*Prev;
    x.*Prev = x.*Next = nullptr;
    x.*In = false;
  }

 private:
  T* head_ = nullptr;
};

}  // namespace zcrxd
