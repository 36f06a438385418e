// Writes packets to a classic pcap file (nanosecond timestamps, magic a1b23c4d; the capture's
// link type) that
// Wireshark, tshark and tcpdump open. Every packet is written; flush() and the destructor make
// the file complete on disk.
#pragma once

#include "labtool/capture/packet.hpp"

#include <memory>
#include <string>

namespace labtool::capture {

class Recorder {
public:
    /// Creates (truncates) `path`. Throws CaptureError (other) with the OS reason on failure.
    Recorder(const std::string& path, int link_type, int snaplen);
    ~Recorder();  // flushes and closes
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    void write(const Packet& packet);
    void flush();
    [[nodiscard]] std::uint64_t packets_written() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::capture
