// Reads a saved capture (pcap in either byte order, micro- or nanosecond; pcapng with one link
// type) packet by packet, through libpcap.
#pragma once

#include "labtool/capture/packet.hpp"

#include <memory>
#include <optional>
#include <string>

namespace labtool::capture {

enum class ReadStatus {
    packet,     // *out holds the next packet
    end,        // clean end of file
    truncated,  // the file ends in the middle of a record; error() says where
};

class FileReader {
public:
    /// Opens `path`. Throws CaptureError: file_not_found (missing or unreadable, with the OS
    /// reason), not_a_capture (with libpcap's reason), other.
    explicit FileReader(const std::string& path);
    ~FileReader();
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;

    [[nodiscard]] int link_type() const noexcept;   // DLT_* value
    [[nodiscard]] int snaplen() const noexcept;

    /// Reads the next packet into `out` (timestamps in nanoseconds whatever the file holds).
    /// The bytes stay valid until the next call.
    ReadStatus next(Packet& out);

    /// Message for the last `truncated` result.
    [[nodiscard]] const std::string& error() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::capture
