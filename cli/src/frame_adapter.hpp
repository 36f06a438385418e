// The one place that turns a captured packet into an analysis frame (design.md: only cli/
// knows both sides).
#pragma once

#include "labtool/analysis/frame.hpp"
#include "labtool/capture/packet.hpp"

#include <optional>
#include <string>

namespace labtool::cli {

/// The analysis link type for a DLT value, or nullopt when labtool cannot decode it.
std::optional<analysis::LinkType> link_type_for(int dlt);

/// "Ethernet (1)", "NULL/loopback (0)", … for messages.
std::string link_type_description(int dlt);

inline analysis::Frame to_frame(const capture::Packet& p, analysis::LinkType link) {
    analysis::Frame f;
    f.link = link;
    f.ts = {p.ts.sec, p.ts.nsec};
    f.wire_len = p.len;
    f.bytes = p.data;
    return f;
}

}  // namespace labtool::cli
