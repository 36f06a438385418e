// The pcapng numbers labtool's reader, writer and comment reader share (draft-ietf-opsawg-pcapng:
// block types §4, the byte-order magic §4.1, option codes §3.5). Private to labtool_capture.
#pragma once

#include <cstdint>

namespace labtool::capture::pcapng {

constexpr std::uint32_t block_shb = 0x0A0D0D0A;  // Section Header Block (a palindrome)
constexpr std::uint32_t block_idb = 0x00000001;  // Interface Description Block
constexpr std::uint32_t block_pb = 0x00000002;   // obsolete Packet Block
constexpr std::uint32_t block_spb = 0x00000003;  // Simple Packet Block
constexpr std::uint32_t block_epb = 0x00000006;  // Enhanced Packet Block
constexpr std::uint32_t byte_order_magic = 0x1A2B3C4D;
constexpr std::uint16_t version_major = 1;

constexpr std::uint16_t opt_endofopt = 0;
constexpr std::uint16_t opt_comment = 1;

}  // namespace labtool::capture::pcapng
