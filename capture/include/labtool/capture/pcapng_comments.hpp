// Comments stored in a pcapng file (section and packet opt_comment options), which libpcap
// does not hand over: read with a small bounds-checked block walker.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace labtool::capture {

struct PcapngComments {
    std::vector<std::string> file;                    // section header comments, in order
    std::map<std::uint64_t, std::string> packets;     // 1-based packet number → its comment(s)
};

/// Reads the comments of `path` if it is a pcapng file; an empty result for pcap files, for
/// files without comments, and for damaged files (never throws).
PcapngComments read_pcapng_comments(const std::string& path);

}  // namespace labtool::capture
