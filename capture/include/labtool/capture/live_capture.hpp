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
    /// In immediate mode libpcap uses a TPACKET_V2 ring whose slots are as large as the snaplen
    /// (at most the interface's largest frame), so the snaplen sets how many packets the ring
    /// holds. 65600 keeps a whole loopback packet (MTU 65536 + link header): on Linux each slot
    /// then takes 128 KiB, 1024 slots in the default buffer.
    int snaplen = 65600;
    /// The kernel ring in bytes (libpcap's default drops bursts). On Linux it is the memory the
    /// ring really takes (rounded down to whole blocks): libpcap's request is sized for its slots.
    int buffer_bytes = 128 * 1024 * 1024;
    /// 0: immediate mode (every packet at once). N > 0: the kernel delivers packets in blocks at
    /// most N ms late; use it for tens of thousands of packets per second (fewer wakeups).
    int batch_ms = 0;
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
