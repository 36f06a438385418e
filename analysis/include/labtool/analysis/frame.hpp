// One captured frame as the analysis engine sees it: link type, timestamp and the bytes.
// The bytes are borrowed for the duration of Engine::process only.
#pragma once

#include <cstdint>
#include <span>

namespace labtool::analysis {

/// Link-layer header types, numbered as libpcap's DLT_* / LINKTYPE_* values.
enum class LinkType : std::uint16_t {
    null = 0,          // BSD loopback / Npcap loopback: 4-byte address family, host byte order
    ethernet = 1,
    raw = 101,         // raw IPv4/IPv6 (LINKTYPE_RAW)
    loop = 108,        // OpenBSD loopback: 4-byte address family, network byte order
    linux_sll = 113,
    ipv4 = 228,
    ipv6 = 229,
    linux_sll2 = 276,
};

struct Timestamp {
    std::int64_t sec = 0;
    std::uint32_t nsec = 0;
};

struct Frame {
    LinkType link = LinkType::ethernet;
    Timestamp ts;
    std::uint32_t wire_len = 0;            // length on the wire (>= bytes.size())
    std::span<const std::uint8_t> bytes;   // captured bytes
};

/// Maps a DLT value to LinkType; false when the link type is not supported.
bool link_type_from_dlt(int dlt, LinkType& out) noexcept;

}  // namespace labtool::analysis
