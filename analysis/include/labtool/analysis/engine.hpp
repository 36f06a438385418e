// The analysis engine: frames in (capture order), events out. One engine serves live capture and
// replay alike; its clock is the packet timestamp, so the same packets give the same events.
#pragma once

#include "labtool/analysis/events.hpp"
#include "labtool/analysis/frame.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace labtool::analysis {

struct EngineOptions {
    /// Only TCP segments with this port (either side) are analysed; others are counted as
    /// ignored. Also tells which side is the server when a connection's SYN was not captured.
    std::optional<std::uint16_t> port;
    /// Connections tracked at once; beyond it the least recently active one is ended.
    std::size_t max_connections = 4096;
    /// Out-of-order bytes buffered per direction before the hole is declared a gap, and for
    /// all connections together (whatever the capture holds, this is what reassembly keeps).
    std::size_t reassembly_cap_bytes = 4 * 1024 * 1024;
    std::size_t max_buffered_bytes = 32 * 1024 * 1024;
    /// Largest HTTP header block accepted (RFC 9112 leaves it to the implementation).
    std::size_t max_header_bytes = 64 * 1024;
    /// Headers kept per message in events (the rest are counted in header_bytes only).
    std::size_t max_headers_kept = 64;
    /// Emit a PacketInfo event for every TCP frame.
    bool emit_packets = false;
    /// By packet time: an open connection silent this long is ended (close_kind open) and its
    /// state freed; a closed one is reduced to a small record after `closed_linger_seconds`
    /// (late packets of it are then only counted).
    double idle_timeout_seconds = 3600.0;
    double closed_linger_seconds = 30.0;
    /// Small records of finished connections kept to recognise their late packets.
    std::size_t max_finished_records = 1u << 16;
};

struct EngineStats {
    std::uint64_t frames = 0;
    std::uint64_t tcp_frames = 0;       // analysed
    std::uint64_t ignored = 0;          // not TCP, not IP, or another port
    std::uint64_t truncated = 0;        // headers cut short by the snaplen
    std::uint64_t invalid = 0;
    std::uint64_t unsupported_link = 0;
    std::uint64_t connections = 0;
    std::uint64_t requests = 0;
    std::uint64_t responses = 0;
    std::uint64_t payload_bytes = 0;
    std::uint64_t late_frames = 0;      // packets of connections already finished and freed
    std::uint64_t skipped_frames = 0;   // not given to the engine (skip_frames), still numbered
    double first_time = 0.0;            // absolute seconds of the first frame
    double last_time = 0.0;
};

class Engine {
public:
    using Sink = std::function<void(const Event&)>;

    explicit Engine(EngineOptions options = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Analyses the next frame (frame numbers count calls, from 1) and emits its events to
    /// `sink` before returning. Never throws on packet content.
    void process(const Frame& frame, const Sink& sink);

    /// Ends the capture: open connections get their final HTTP results and a ConnectionEnd
    /// (close_kind open unless they closed). Repeated calls emit nothing more.
    void finish(const Sink& sink);

    /// `n` frames of the capture were not given to the engine (live capture fell behind): the
    /// frame numbers of the events stay those of the capture and its recording.
    void skip_frames(std::uint64_t n) noexcept;

    /// Emits an event the engine holds back to decide a fact (the first FIN of a connection
    /// waits for the next packet: did the FINs cross?). Live capture calls it when idle.
    void flush(const Sink& sink);

    [[nodiscard]] const EngineStats& stats() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::analysis
