// Live capture on a (loopback) interface with libpcap: immediate mode, a large kernel buffer,
// a BPF filter, and a drain that empties the ring before closing so no packet is lost.
#pragma once

#include "labtool/capture/packet.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace labtool::capture {

struct LiveOptions {
    std::string interface;                        // empty: default_loopback_interface()
    std::string filter;                           // BPF, e.g. "tcp port 3000"; empty: everything
    int snaplen = 262144;
    int buffer_bytes = 32 * 1024 * 1024;          // kernel ring; libpcap's default drops bursts
};

struct CaptureStats {
    std::uint64_t received = 0;   // packets handed to us
    std::uint64_t dropped = 0;    // pcap_stats ps_drop: dropped by the kernel (buffer full)
    std::uint64_t if_dropped = 0; // pcap_stats ps_ifdrop
};

/// The loopback interface of this system: "lo" on Linux, "lo0" on macOS/BSD, Npcap's
/// "\Device\NPF_Loopback" on Windows; found with pcap_findalldevs (PCAP_IF_LOOPBACK).
/// Throws CaptureError when none is found.
std::string default_loopback_interface();

class LiveCapture {
public:
    /// Opens and activates the interface and installs the filter. Throws CaptureError with
    /// libpcap's message and what to do about it (permission: sudo, setcap, ChmodBPF, Npcap).
    explicit LiveCapture(const LiveOptions& options);
    ~LiveCapture();
    LiveCapture(const LiveCapture&) = delete;
    LiveCapture& operator=(const LiveCapture&) = delete;

    [[nodiscard]] const std::string& interface() const noexcept;
    [[nodiscard]] int link_type() const noexcept;   // DLT_* value (pcap_datalink)
    [[nodiscard]] int snaplen() const noexcept;

    using Handler = std::function<void(const Packet&)>;

    /// Waits up to `timeout` for packets and hands each one to `handler` (in capture order).
    /// Returns the number of packets handled (0 on timeout). Throws CaptureError on a read error.
    int poll(const Handler& handler, std::chrono::milliseconds timeout);

    /// Reads (without waiting) until the kernel ring is empty; returns packets handled.
    int drain(const Handler& handler);

    [[nodiscard]] CaptureStats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::capture
