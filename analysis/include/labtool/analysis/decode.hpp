// Bounds-checked decoding of link, IPv4/IPv6 and TCP headers, in place from the frame bytes.
// Nothing is allocated; the result points into the frame.
#pragma once

#include "labtool/analysis/frame.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace labtool::analysis {

struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};   // IPv4 uses the first 4

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

/// "127.0.0.1" or "::1" (RFC 5952 shortest form).
std::string to_string(const IpAddress& address);

/// TCP header flag bits (RFC 9293 §3.1).
namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t urg = 0x20;
inline constexpr std::uint8_t ece = 0x40;
inline constexpr std::uint8_t cwr = 0x80;
}  // namespace tcp_flag

/// "SYN,ACK", "FIN,PSH,ACK" … in Wireshark's order of importance.
std::string flags_to_string(std::uint8_t flags);

/// A checksum as the capture shows it. `not_computed`: zero, or only the pseudo-header sum
/// (checksum offload: the network card, or nothing on loopback, computes it after the capture
/// point); `unverified`: the snaplen cut the packet, so it cannot be checked.
enum class ChecksumStatus : std::uint8_t { valid, invalid, not_computed, unverified };
inline constexpr int checksum_status_count = 4;

struct TcpOptions {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> wscale;   // shift count
    bool sack_permitted = false;
    std::uint8_t sack_blocks = 0;         // blocks in `sack` (at most 4, RFC 2018 §3)
    std::array<std::pair<std::uint32_t, std::uint32_t>, 4> sack{};   // raw left/right edges
    std::optional<std::uint32_t> ts_val;
    std::optional<std::uint32_t> ts_ecr;
    bool malformed = false;               // an option ran past the header: parsing stopped there
};

struct TcpSegment {
    IpAddress src;
    IpAddress dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;            // raw, unscaled
    TcpOptions options;
    std::uint8_t option_bytes = 0;       // TCP header length - 20
    ChecksumStatus ip_checksum = ChecksumStatus::valid;    // IPv4 header (IPv6 has none: valid)
    ChecksumStatus tcp_checksum = ChecksumStatus::valid;
    std::uint32_t payload_len = 0;       // from the IP header: bytes the segment carried
    std::span<const std::uint8_t> payload;  // the captured part (may be shorter: snaplen)

    [[nodiscard]] bool has(std::uint8_t flag) const noexcept { return (flags & flag) != 0; }
    /// Bytes of payload the capture did not keep (snaplen); never guessed.
    [[nodiscard]] std::uint32_t missing() const noexcept {
        return payload_len - static_cast<std::uint32_t>(payload.size());
    }
};

enum class DecodeStatus {
    ok,
    not_ip,            // ARP, an unknown ethertype or address family
    not_tcp,           // IP but another protocol, or a non-first fragment
    truncated,         // headers cut short by the capture (snaplen): counted, not an error
    invalid,           // headers that contradict themselves (bad version, lengths)
    unsupported_link,
};

/// Where the IP header of `frame` starts and its version (4, 6; 0 not IP), by the rules decode()
/// uses (VLAN tags, both byte orders of a NULL/LOOP family), for the -v packet view.
struct LinkLayer {
    DecodeStatus status = DecodeStatus::ok;
    int ip_version = 0;
    std::size_t offset = 0;
};
LinkLayer decode_link_layer(const Frame& frame) noexcept;

/// Decodes `frame` into `out`. Every byte read is bounds-checked; on any status but `ok` the
/// contents of `out` are unspecified.
DecodeStatus decode(const Frame& frame, TcpSegment& out) noexcept;

}  // namespace labtool::analysis
