// Hands captured packets from the capture thread to the analysis thread, so slow output never
// stalls the reads that keep the kernel ring from overflowing. The queue is bounded in bytes (the
// memory its packets hold, buffers' capacity and bookkeeping): when analysis falls behind and the
// queue is full, packets are skipped for analysis, counted, until it has drained to half its
// bound (recording is done by the capture thread before this, so a skipped packet is still
// recorded). Buffers are recycled, but the recycled ones never take the total past the bound,
// and trim() gives them back after a burst.
#pragma once

#include "labtool/capture/packet.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace labtool::cli {

struct QueuedPacket {
    capture::Timestamp ts;
    std::uint32_t len = 0;
    std::uint64_t number = 0;      // 1-based number in capture order (as in a recording)
    std::size_t footprint = 0;     // bytes it counts against the bound
    std::vector<std::uint8_t> data;

    [[nodiscard]] capture::Packet view() const {
        return capture::Packet{ts, static_cast<std::uint32_t>(data.size()), len, data};
    }
};

class PacketQueue {
public:
    /// The default bound, `--queue-mib` 64.
    static constexpr std::size_t default_max_bytes = std::size_t{64} << 20;
    /// What a packet costs besides its buffer (the queue entry and the allocator's header), so
    /// that a flood of small packets is bounded too.
    static constexpr std::size_t overhead_bytes = sizeof(QueuedPacket) + 32;

    explicit PacketQueue(std::size_t max_bytes = default_max_bytes) : max_bytes_(std::max<std::size_t>(max_bytes, 1)) {}

    /// Copies `p` (packet `number` of the capture) into the queue; never blocks. false when it was
    /// skipped because the queue is full: skipping goes on until the queue has drained to half.
    bool push(const capture::Packet& p, std::uint64_t number) {
        std::unique_lock lock(mutex_);
        if (skipping_ && queued_bytes_ <= max_bytes_ / 2) skipping_ = false;
        QueuedPacket q;
        if (!free_.empty()) q = std::move(free_.back());
        const std::size_t cost = std::max(q.data.capacity(), p.data.size()) + overhead_bytes;
        if (skipping_ || queued_bytes_ + cost > max_bytes_) {
            if (!free_.empty()) free_.back() = std::move(q);
            skipping_ = true;
            ++skipped_;
            return false;
        }
        if (!free_.empty()) {
            free_.pop_back();
            free_bytes_ -= q.footprint;
        }
        q.ts = p.ts;
        q.len = p.len;
        q.number = number;
        q.data.assign(p.data.begin(), p.data.end());
        q.footprint = q.data.capacity() + overhead_bytes;
        queued_bytes_ += q.footprint;
        queue_.push_back(std::move(q));
        const bool wake = waiting_;
        lock.unlock();
        if (wake) ready_.notify_one();   // a futex call only when the reader sleeps
        return true;
    }

    /// Takes the next packet into `out` (whose old buffer is recycled, or freed when keeping it
    /// would pass the bound); false on timeout, or when closed and empty.
    bool pop(QueuedPacket& out, std::chrono::milliseconds timeout) {
        std::vector<std::uint8_t> discard;  // declared first: freed after the lock is released
        std::unique_lock lock(mutex_);
        if (queue_.empty() && !closed_) {
            waiting_ = true;
            ready_.wait_for(lock, timeout, [this] { return !queue_.empty() || closed_; });
            waiting_ = false;
        }
        if (queue_.empty()) return false;
        if (out.data.capacity() != 0) {
            const std::size_t cost = out.data.capacity() + overhead_bytes;
            if (queued_bytes_ + free_bytes_ + cost <= max_bytes_) {
                out.footprint = cost;
                free_bytes_ += cost;
                free_.push_back(std::move(out));
            } else {
                discard = std::move(out.data);
            }
        }
        out = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= out.footprint;
        return true;
    }

    /// Frees recycled buffers beyond `keep_bytes` (after a burst, when the queue is idle).
    /// Returns the bytes freed.
    std::size_t trim(std::size_t keep_bytes) {
        std::vector<QueuedPacket> released;  // declared first: freed after the lock is released
        std::lock_guard lock(mutex_);
        std::size_t freed = 0;
        while (free_bytes_ > keep_bytes && !free_.empty()) {
            freed += free_.back().footprint;
            free_bytes_ -= free_.back().footprint;
            released.push_back(std::move(free_.back()));
            free_.pop_back();
        }
        if (free_.empty()) free_.shrink_to_fit();
        return freed;
    }

    /// No more packets will come; pop() drains what is left, then returns false.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        ready_.notify_all();
    }

    [[nodiscard]] bool closed_and_empty() {
        std::lock_guard lock(mutex_);
        return closed_ && queue_.empty();
    }

    /// Packets skipped so far because the queue was full.
    [[nodiscard]] std::uint64_t skipped() {
        std::lock_guard lock(mutex_);
        return skipped_;
    }
    [[nodiscard]] std::size_t queued_bytes() {
        std::lock_guard lock(mutex_);
        return queued_bytes_;
    }
    [[nodiscard]] std::size_t free_bytes() {
        std::lock_guard lock(mutex_);
        return free_bytes_;
    }
    [[nodiscard]] std::size_t max_bytes() const noexcept { return max_bytes_; }

private:
    const std::size_t max_bytes_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<QueuedPacket> queue_;
    std::vector<QueuedPacket> free_;
    std::size_t queued_bytes_ = 0;
    std::size_t free_bytes_ = 0;
    std::uint64_t skipped_ = 0;
    bool skipping_ = false;
    bool closed_ = false;
    bool waiting_ = false;
};

}  // namespace labtool::cli
