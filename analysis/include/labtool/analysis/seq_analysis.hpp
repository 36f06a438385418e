// Per-frame TCP sequence analysis with Wireshark's rules and names (its tcp.analysis.* flags),
// so every flag can be checked against tshark. State is per connection, one Flow per direction.
#pragma once

#include "labtool/analysis/decode.hpp"
#include "labtool/analysis/frame.hpp"

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace labtool::analysis {

/// Wireshark's tcp.analysis flags, as bits.
enum class AnalysisFlag : std::uint32_t {
    retransmission = 1u << 0,
    fast_retransmission = 1u << 1,
    spurious_retransmission = 1u << 2,
    out_of_order = 1u << 3,
    lost_segment = 1u << 4,          // "previous segment not captured"
    ack_lost_segment = 1u << 5,      // "ACKed unseen segment"
    duplicate_ack = 1u << 6,
    zero_window = 1u << 7,
    zero_window_probe = 1u << 8,
    zero_window_probe_ack = 1u << 9,
    window_full = 1u << 10,
    window_update = 1u << 11,
    keep_alive = 1u << 12,
    keep_alive_ack = 1u << 13,
    reused_ports = 1u << 14,
};
inline constexpr int analysis_flag_count = 15;

/// The flag's name as in the JSON output ("retransmission", "duplicate_ack", …); index 0..14.
std::string_view analysis_flag_name(int index) noexcept;
/// The flag's index 0..14 (its bit number), as analysis_flag_name() takes it.
constexpr int analysis_flag_index(AnalysisFlag f) noexcept { return std::countr_zero(static_cast<std::uint32_t>(f)); }

/// One rule that fired: which flag, and the numbers it compared (sequence and ack numbers
/// relative, as shown). The renderers put these into words; fields a rule does not use stay 0.
struct AnalysisRule {
    AnalysisFlag flag{};
    std::uint8_t variant = 0;      // zero_window_probe: 0 one byte at the next seq, 1 Linux probe at next seq - 1
    std::uint64_t seq = 0;         // this segment's seq
    std::uint64_t next = 0;        // the next seq expected from this side
    std::uint64_t len = 0;         // this segment's length
    std::uint64_t bytes = 0;       // lost_segment: bytes not captured
    std::uint64_t ack = 0;         // this segment's ack
    std::uint64_t window = 0;      // this segment's window (raw)
    std::uint64_t old_window = 0;  // window_update: the window before (raw)
    std::uint64_t frame = 0;       // duplicate_ack: the frame it repeats
    std::uint64_t count = 0;       // duplicate_ack: its number; fast_retransmission: the peer's duplicate ACKs
    std::uint64_t peer_ack = 0;    // the peer's last ack
    std::uint64_t peer_window = 0; // window_full: the peer's window (scaled)
    std::uint64_t highest = 0;     // ack_lost_segment: the highest peer seq seen
    double ms = 0;                 // out_of_order, fast_retransmission: milliseconds since the reference packet
    double limit_ms = 0;           // … and the limit it stayed under
};

/// What the analysis found for one frame.
struct PacketAnalysis {
    std::uint32_t flags = 0;                  // AnalysisFlag bits
    std::vector<AnalysisRule> rules;          // the rules that fired, with their numbers
    std::uint32_t dup_ack_num = 0;
    std::uint64_t dup_ack_frame = 0;
    std::uint64_t acks_frame = 0;             // the data segment this ACK acknowledges exactly
    std::optional<double> ack_rtt;            // seconds from that segment to this ACK
    std::optional<std::uint32_t> bytes_in_flight;
    std::int64_t window = 0;                  // scaled window (tcp.window_size)
    int window_scale = -1;                    // multiplier; -1 unknown, -2 no scaling (tcp.window_size_scalefactor)
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sack;  // raw edges
    bool dsack = false;                       // the first SACK block reports duplicate data (RFC 2883)

    [[nodiscard]] bool has(AnalysisFlag f) const noexcept { return (flags & static_cast<std::uint32_t>(f)) != 0; }
};

/// Sequence analysis state of one connection (both directions).
class SeqAnalyzer {
public:
    /// Analyses `seg`, sent by direction 0 (the connection's first sender) or 1, at time `ts`
    /// (nanoseconds). `reused_ports` marks the SYN that started this connection on reused ports.
    PacketAnalysis analyze(const TcpSegment& seg, int direction, std::int64_t ts_ns, std::uint64_t frame,
                           bool reused_ports);

    /// Returns unused capacity once the connection has ended (late packets still work).
    void trim() {
        for (auto& f : flows_) {
            f.segments.shrink_to_fit();
            f.sack.shrink_to_fit();
        }
    }

    /// Initial RTT: SYN to the ACK that completes the handshake (tcp.analysis.initial_rtt).
    [[nodiscard]] std::optional<double> initial_rtt() const noexcept;

    /// Wireshark's tcp.completeness bits: 1 SYN, 2 SYN-ACK, 4 ACK, 8 DATA, 16 FIN, 32 RST.
    [[nodiscard]] int completeness() const noexcept { return completeness_; }

private:
    struct Unacked {
        std::uint64_t frame;
        std::uint32_t seq;
        std::uint32_t nextseq;
        std::int64_t ts;
        bool gone = false;   // acknowledged: removed after the ACK's walk
    };
    struct Flow {
        bool base_set = false;
        std::uint32_t base_seq = 0;
        int win_scale = -1;            // shift; -1 unknown, -2 not used
        bool is_first_ack = true;      // no non-SYN ACK sent yet: its window is unscaled
        std::uint32_t window = 0;      // last raw window sent
        bool window_seen = false;
        std::uint32_t nextseq = 0;
        std::int64_t nextseq_time = 0;
        std::uint32_t maxseqtobeacked = 0;
        std::uint32_t lastack = 0;
        std::int64_t lastack_time = 0;
        std::uint64_t lastnondupack = 0;
        int dupacknum = 0;
        std::uint32_t lastsegmentflags = 0;
        bool valid_bif = true;
        std::vector<Unacked> segments;   // oldest first
        bool span_valid = false;         // span_first/last: min seq and max nextseq of `segments`,
        std::uint32_t span_first = 0;    // relative to base_seq
        std::uint32_t span_last = 0;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> sack;  // from its last packet
    };
    Flow flows_[2];
    std::int64_t first_rtt_ = 0;       // ns; 0 = not known
    std::int64_t mru_syn_ = 0;
    bool saw_syn_time_ = false;
    int completeness_ = 0;
};

}  // namespace labtool::analysis
