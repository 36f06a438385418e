// A captured packet as libpcap hands it over: timestamp, lengths and a view of the bytes.
// The bytes are owned by the capture source and valid only until its next read.
#pragma once

#include <cstdint>
#include <span>

namespace labtool::capture {

struct Timestamp {
    std::int64_t sec = 0;
    std::uint32_t nsec = 0;  // nanoseconds, 0..999'999'999
};

struct Packet {
    Timestamp ts;
    std::uint32_t caplen = 0;  // bytes present in data
    std::uint32_t len = 0;     // bytes on the wire (may exceed caplen when a snaplen cut it)
    std::span<const std::uint8_t> data;
};

}  // namespace labtool::capture
