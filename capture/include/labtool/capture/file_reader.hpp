// Reads a saved capture (pcap in either byte order, micro- or nanosecond; pcapng with one link
// type) packet by packet with our own bounds-checked reader (no libpcap, so no wpcap.dll on
// Windows), giving what libpcap 1.10's pcap_next_ex gives with PCAP_TSTAMP_PRECISION_NANO.
#pragma once

#include "labtool/capture/packet.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace labtool::capture {

enum class ReadStatus {
    packet,     // *out holds the next packet
    end,        // clean end of file
    truncated,  // the file ends in the middle of a record; error() says where
};

/// The DLT_* value libpcap's pcap_datalink() reports on this platform for a LINKTYPE_* value
/// stored in a pcap or pcapng file (libpcap's linktype_to_dlt): the same number except for a few
/// old ones, e.g. LINKTYPE_RAW 101 -> DLT_RAW (12; 14 on OpenBSD). Unknown values pass through.
[[nodiscard]] int dlt_from_linktype(std::uint32_t linktype) noexcept;

/// The inverse (libpcap's dlt_to_linktype): the LINKTYPE_* value to store for a DLT_* value,
/// or -1 when the DLT has none.
[[nodiscard]] int linktype_from_dlt(int dlt) noexcept;

/// The largest captured length libpcap accepts in a packet of this DLT (max_snaplen_for_dlt):
/// 262144 for almost all, more for D-Bus (128 MiB), EBHSCR (8 MiB) and USBPcap (1 MiB).
[[nodiscard]] std::uint32_t max_caplen_for_dlt(int dlt) noexcept;

class FileReader {
public:
    /// Opens `path` (UTF-8) and reads the file header (pcap) or up to the first Interface
    /// Description Block (pcapng). Throws CaptureError: file_not_found (missing, a directory or
    /// unreadable, with the OS reason), not_a_capture (not pcap/pcapng, or damaged before the
    /// first packet, with the reason), other (an I/O error while reading).
    explicit FileReader(const std::string& path);
    ~FileReader();
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;

    [[nodiscard]] int link_type() const noexcept;   // DLT_* value
    [[nodiscard]] int snaplen() const noexcept;

    /// Reads the next packet into `out` (timestamps in nanoseconds whatever the file holds;
    /// nsec is always 0..999'999'999 and |sec| at most 9'223'372'035, so sec * 10^9 + nsec fits
    /// an int64). The bytes stay valid until the next call. `end` and `truncated` are sticky.
    /// Throws CaptureError not_a_capture when the file is damaged past this point (an
    /// impossible length, a pcapng with a second link type, ...; the message names the packet
    /// and the byte offset), other on an I/O error; a later call throws the same again.
    /// No heap allocation per packet: one buffer (1 MiB, larger only for larger records, at
    /// most 16 MiB except for D-Bus captures) is reused.
    ReadStatus next(Packet& out);

    /// Message for the last `truncated` result.
    [[nodiscard]] const std::string& error() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::capture
