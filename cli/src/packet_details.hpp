// Wireshark-style packet details (-v) and the hex/ASCII bytes pane (-x).
#pragma once

#include "labtool/analysis/events.hpp"
#include "labtool/analysis/frame.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace labtool::cli {

/// One line per layer and field group; `info` (may be null) adds relative numbers and analysis.
std::vector<std::string> packet_details(std::uint64_t number, double time, const analysis::Frame& frame,
                                        const analysis::PacketInfo* info);

/// "0000  45 00 00 34 …  E..4" lines, 16 bytes each.
std::vector<std::string> hex_dump(std::span<const std::uint8_t> bytes);

}  // namespace labtool::cli
