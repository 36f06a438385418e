// Records a live session as pcapng with labtool's explanation of each packet as its comment, so
// Wireshark shows the words beside the packet (tshark: frame.comment).
//
// The capture thread writes every packet as it arrives (hold, pump), so what is recorded never
// depends on analysis: a packet waits at most hold_time (and the packets waiting at most
// hold_bytes) for its explanation, which the analysis thread hands over (explained), and is then
// written with it as comment, or without one when analysis is behind (or skipped the packet).
// Comments are kept whenever analysis keeps up; a kill loses at most the packets waiting.
#pragma once

#include "renderer.hpp"

#include "labtool/analysis/events.hpp"
#include "labtool/capture/packet.hpp"
#include "labtool/capture/pcapng_writer.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace labtool::cli {

class CommentedRecorder {
public:
    /// Throws capture::CaptureError when `path` cannot be written.
    CommentedRecorder(const std::string& path, int link_type, int snaplen, const std::string& interface, Lang lang);

    /// How long a packet waits for its explanation before it is written without one.
    static constexpr std::chrono::milliseconds hold_time{250};
    /// How many bytes of packets may wait; past it the oldest is written without waiting.
    static constexpr std::size_t hold_bytes = std::size_t{8} << 20;

    // The analysis thread.
    /// Collects the explanation of the frame being analysed.
    void on_event(const analysis::Event& event) { renderer_->on_event(event); }
    /// Everything explained since the previous call is the comment of packet `number` (its
    /// number in capture order); dropped if that packet was already written.
    void explained(std::uint64_t number);

    // The capture thread.
    /// Copies packet `number` in, to be written by pump() with its explanation or without.
    void hold(const capture::Packet& packet, std::uint64_t number);
    /// Packet `number` will not be analysed (the queue to analysis was full): no need to wait.
    void will_not_be_explained(std::uint64_t number);
    /// Writes, in capture order, the waiting packets whose comment came, that waited hold_time,
    /// or that pass hold_bytes; `all`: every one. Throws capture::CaptureError when a write fails
    /// (nothing more is written then, and the waiting packets are dropped).
    void pump(bool all);
    /// True while packets wait for their explanation.
    [[nodiscard]] bool holding() const;
    void flush() { writer_.flush(); }
    [[nodiscard]] std::uint64_t packets_written() const noexcept { return writer_.packets_written(); }
    /// Packets written without their explanation: analysis was behind, or skipped them.
    [[nodiscard]] std::uint64_t packets_without_comment() const noexcept { return uncommented_; }
    [[nodiscard]] std::error_code error() const noexcept { return writer_.error(); }
    [[nodiscard]] const std::string& warning() const noexcept { return writer_.warning(); }

    /// True for the section comment labtool writes: its packet comments are its own explanations,
    /// which a replay regenerates, so they need not be shown again.
    static bool is_own_section_comment(const std::string& comment);

    /// True when `path` asks for pcapng (".pcapng" or ".ntar").
    static bool wants_pcapng(const std::string& path);

private:
    struct Held {
        std::uint64_t number = 0;
        capture::Timestamp ts;
        std::uint32_t len = 0;
        std::vector<std::uint8_t> data;
        std::chrono::steady_clock::time_point since;
        bool ready = false;      // its comment came, or none will
        bool explained = false;  // `comment` is its explanation
        std::string comment;
    };

    capture::PcapngWriter writer_;  // the capture thread only
    std::ostringstream text_;       // the analysis thread only
    std::unique_ptr<Renderer> renderer_;
    mutable std::mutex mutex_;      // guards held_, held_bytes_, stopped_
    std::deque<Held> held_;         // consecutive numbers, oldest first
    std::size_t held_bytes_ = 0;
    bool stopped_ = false;          // a write failed: nothing is held any more
    std::uint64_t uncommented_ = 0;
};

}  // namespace labtool::cli
