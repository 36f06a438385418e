// Hands captured packets from the capture thread to the analysis thread, so slow output never
// stalls the reads that keep the kernel ring from overflowing. Buffers are recycled: after
// warm-up no packet allocates.
#pragma once

#include "labtool/capture/packet.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace labtool::cli {

struct QueuedPacket {
    capture::Timestamp ts;
    std::uint32_t len = 0;
    std::vector<std::uint8_t> data;

    [[nodiscard]] capture::Packet view() const {
        return capture::Packet{ts, static_cast<std::uint32_t>(data.size()), len, data};
    }
};

class PacketQueue {
public:
    /// Copies `p` into the queue (never blocks: memory, not the kernel ring, absorbs bursts).
    void push(const capture::Packet& p) {
        std::unique_lock lock(mutex_);
        QueuedPacket q;
        if (!free_.empty()) {
            q = std::move(free_.back());
            free_.pop_back();
        }
        q.ts = p.ts;
        q.len = p.len;
        q.data.assign(p.data.begin(), p.data.end());
        queue_.push_back(std::move(q));
        const bool wake = waiting_;
        lock.unlock();
        if (wake) ready_.notify_one();   // a futex call only when the reader sleeps
    }

    /// Takes the next packet into `out`; false on timeout, or when closed and empty.
    bool pop(QueuedPacket& out, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (queue_.empty() && !closed_) {
            waiting_ = true;
            ready_.wait_for(lock, timeout, [this] { return !queue_.empty() || closed_; });
            waiting_ = false;
        }
        if (queue_.empty()) return false;
        if (!out.data.empty() || out.data.capacity() != 0) free_.push_back(std::move(out));
        out = std::move(queue_.front());
        queue_.pop_front();
        return true;
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

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<QueuedPacket> queue_;
    std::vector<QueuedPacket> free_;
    bool closed_ = false;
    bool waiting_ = false;
};

}  // namespace labtool::cli
