// Writes packets to a pcapng file (one section, one interface, nanosecond timestamps) with a
// section comment and per-packet comments, which classic pcap (and libpcap's writer) cannot hold.
// Wireshark, tshark and libpcap 1.x readers open it; flush() and the destructor complete it.
#pragma once

#include "labtool/capture/packet.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

namespace labtool::capture {

class PcapngWriter {
public:
    /// Longest comment (and application name) stored: the option length field is 16 bits.
    /// Longer text is cut at the last whole UTF-8 character that fits.
    static constexpr std::size_t max_option_bytes = 65535;

    /// Creates `path`, or truncates it when it is a regular file with no other hard link (never
    /// through a symbolic link: that is refused), and gathers a Section Header Block (the
    /// section comment, if not empty, and shb_userappl = `application` verbatim: pass "labtool <version>") and one
    /// Interface Description Block with `link_type` (a DLT_* value as libpcap reports it;
    /// DLT_RAW 12/14 is stored as LINKTYPE_RAW 101, and 101 itself is accepted), `snaplen`
    /// (0 or negative: no limit), if_tsresol = 9 (nanoseconds) and if_name when not empty.
    /// Throws CaptureError (other) with the OS reason when the file cannot be created, or when
    /// `link_type` does not fit the 16-bit field. The headers reach the file with the first
    /// flush (or write that fills the buffer).
    PcapngWriter(const std::string& path, int link_type, int snaplen,
                 const std::string& interface_name = {}, const std::string& section_comment = {},
                 const std::string& application = "labtool");
    ~PcapngWriter();  // flushes and closes; reports nothing
    PcapngWriter(const PcapngWriter&) = delete;
    PcapngWriter& operator=(const PcapngWriter&) = delete;

    /// Appends one Enhanced Packet Block on interface 0. `comment` (UTF-8; newlines kept) becomes
    /// an opt_comment option unless empty. Every packet is written; caplen is
    /// min(data.size(), packet.caplen, snaplen when > 0): libpcap refuses a whole file whose
    /// packet exceeds its interface's snaplen, so bytes beyond it are cut (len still says how
    /// long the packet was, and is never below caplen). Pass the capture's own snaplen, or 0,
    /// and nothing is cut. Timestamps before 1970 are written as 0. Blocks are gathered in a
    /// 256 KiB buffer and handed to the OS whole (a reader, even after a kill -9, never meets
    /// half a block). Throws CaptureError (other) with the OS reason when a write fails; the
    /// partial block is cut off the file, the writer is broken, and later write() and flush()
    /// calls do nothing (the failure was reported once).
    void write(const Packet& packet, const std::string& comment = {});

    /// Pushes buffered blocks to the OS so readers see every packet written so far.
    /// Throws CaptureError (other) with the OS reason on failure.
    void flush();

    /// Packets written (in the file, or in the buffer for it); after a failure, exactly the
    /// packets the file holds.
    [[nodiscard]] std::uint64_t packets_written() const noexcept;
    /// The OS error that stopped writing (ENOSPC ...); empty while it works.
    [[nodiscard]] std::error_code error() const noexcept;
    /// Empty, or one line for the user about something that did not stop the recording (run
    /// as root under sudo: the file could not be given to the sudo user).
    [[nodiscard]] const std::string& warning() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::capture
