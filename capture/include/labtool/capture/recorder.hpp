// Writes packets to a classic pcap file (nanosecond timestamps, magic a1b23c4d in this host's
// byte order; the capture's link type) that Wireshark, tshark, tcpdump and FileReader open.
// Our own writer (no libpcap). Every packet is written; flush() and the destructor make the file
// complete on disk.
#pragma once

#include "labtool/capture/packet.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

namespace labtool::capture {

class Recorder {
public:
    /// Creates `path` (UTF-8), or truncates it when it is a regular file with no other hard
    /// link (never through a symbolic link: that is refused), and writes the file header. `link_type` is a DLT_*
    /// value as libpcap reports it (stored as its LINKTYPE_*: DLT_RAW 12/14 becomes 101; 101
    /// itself is accepted too); `snaplen` 0 or negative means the link type's maximum (262144
    /// for most). Throws CaptureError (other) with the OS reason when the file cannot be created
    /// or written, or when the link type has no LINKTYPE value.
    Recorder(const std::string& path, int link_type, int snaplen);
    ~Recorder();  // flushes and closes; reports nothing
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    /// Appends one record. caplen is min(data.size(), packet.caplen, snaplen, the link type's
    /// maximum); len is never below it. Seconds before 1970 are written as 0, after 2038-01-19
    /// (the signed 32-bit field libpcap 1.10 reads) as that last second. Records are gathered in
    /// a 256 KiB buffer and handed to the OS in whole records only (a reader of the file, even
    /// after a kill -9, never meets half a record): call flush() for readers to see them. Throws
    /// CaptureError (other) with the OS reason (e.g. "No space left on device") when a write
    /// fails; the partial record is cut off the file, the recorder is broken and later write()
    /// and flush() calls do nothing (the failure was reported once).
    void write(const Packet& packet);
    /// Hands every record written so far to the OS. Throws CaptureError (other) with the OS
    /// reason on failure (then as write()).
    void flush();
    /// Packets written (in the file, or in the buffer for it); after a failure, exactly the
    /// packets the file holds.
    [[nodiscard]] std::uint64_t packets_written() const noexcept;
    /// The OS error that stopped the recording (ENOSPC ...); empty while it works.
    [[nodiscard]] std::error_code error() const noexcept;
    /// Empty, or one line for the user about something that did not stop the recording (run
    /// as root under sudo: the file could not be given to the sudo user).
    [[nodiscard]] const std::string& warning() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::capture
