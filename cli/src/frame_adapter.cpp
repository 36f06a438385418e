// Link-type mapping between libpcap's DLT values and the analysis engine.
#include "frame_adapter.hpp"

namespace labtool::cli {

std::optional<analysis::LinkType> link_type_for(int dlt) {
    analysis::LinkType t{};
    if (analysis::link_type_from_dlt(dlt, t)) return t;
    return std::nullopt;
}

std::string link_type_description(int dlt) {
    const char* name = "unknown";
    switch (dlt) {
        case 0: name = "NULL/BSD loopback"; break;
        case 1: name = "Ethernet"; break;
        case 12:
        case 14:
        case 101: name = "raw IP"; break;
        case 105: name = "IEEE 802.11"; break;
        case 108: name = "OpenBSD loopback"; break;
        case 113: name = "Linux cooked (SLL)"; break;
        case 127: name = "802.11 radiotap"; break;
        case 228: name = "raw IPv4"; break;
        case 229: name = "raw IPv6"; break;
        case 276: name = "Linux cooked v2 (SLL2)"; break;
        default: break;
    }
    return std::string(name) + " (" + std::to_string(dlt) + ")";
}

}  // namespace labtool::cli
