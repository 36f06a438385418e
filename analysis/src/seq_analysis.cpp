// Per-frame sequence analysis following Wireshark's tcp_analyze_sequence_number() rule by rule
// (epan/dissectors/packet-tcp.c), so that labtool and tshark flag the same frames. The rules
// are heuristics over what a capture point sees, not RFC 9293 itself; each flag records the
// comparison that fired.
#include "labtool/analysis/seq_analysis.hpp"

#include <algorithm>
#include <string>

namespace labtool::analysis {
namespace {

bool gt_seq(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) > 0; }
bool lt_seq(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
bool le_seq(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) <= 0; }

constexpr std::size_t max_unacked_segments = 10000;        // Wireshark's TCP_MAX_UNACKED_SEGMENTS
constexpr std::int64_t fast_retransmission_window_ns = 20'000'000;   // 20 ms after the last dup ACK
constexpr std::int64_t default_ooo_threshold_ns = 3'000'000;         // 3 ms when no initial RTT is known
constexpr std::size_t sack_blocks_for_bif = 3;              // Wireshark keeps blocks 1..3 for BiF

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

constexpr std::string_view flag_names[analysis_flag_count] = {
    "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order", "lost_segment",
    "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe", "zero_window_probe_ack",
    "window_full", "window_update", "keep_alive", "keep_alive_ack", "reused_ports",
};

}  // namespace

std::string_view analysis_flag_name(int index) noexcept {
    return index >= 0 && index < analysis_flag_count ? flag_names[index] : std::string_view("unknown");
}

std::optional<double> SeqAnalyzer::initial_rtt() const noexcept {
    if (first_rtt_ == 0) return std::nullopt;
    return static_cast<double>(first_rtt_) / 1e9;
}

PacketAnalysis SeqAnalyzer::analyze(const TcpSegment& seg, int direction, std::int64_t now, std::uint64_t frame,
                                    bool reused_ports) {
    Flow& fwd = flows_[direction];
    Flow& rev = flows_[1 - direction];
    PacketAnalysis pa;
    const std::uint32_t seq = seg.seq;
    const std::uint32_t ack = seg.ack;
    const std::uint32_t seglen = seg.payload_len;
    const std::uint32_t window = seg.window;
    const bool syn = seg.has(tcp_flag::syn);
    const bool fin = seg.has(tcp_flag::fin);
    const bool rst = seg.has(tcp_flag::rst);
    const bool has_ack = seg.has(tcp_flag::ack);
    const bool syn_fin_rst = syn || fin || rst;

    auto set = [&pa](const AnalysisRule& rule) {
        pa.flags |= static_cast<std::uint32_t>(rule.flag);
        pa.rules.push_back(rule);
    };
    auto rel = [](const Flow& f, std::uint32_t v) { return v - f.base_seq; };

    // Conversation completeness (tcp.completeness).
    if (syn) completeness_ |= has_ack ? 2 : 1;
    else if (has_ack) completeness_ |= 4;
    if (seglen > 0) completeness_ |= 8;
    if (fin) completeness_ |= 16;
    if (rst) completeness_ |= 32;

    if (reused_ports) set({.flag = AnalysisFlag::reused_ports, .seq = rel(fwd, seq)});

    // Window scaling (RFC 7323 §2.2): only in SYNs, used only if both SYNs carry it.
    if (syn) {
        if (seg.options.wscale) fwd.win_scale = std::min<int>(*seg.options.wscale, 14);
        if (fwd.win_scale == -1) {
            fwd.win_scale = -2;
            rev.win_scale = -2;
        } else if (has_ack && rev.win_scale == -2) {
            fwd.win_scale = -2;
        }
        if (!has_ack) {
            mru_syn_ = now;
            saw_syn_time_ = true;
        }
    } else if (has_ack) {
        if (saw_syn_time_ && first_rtt_ == 0) first_rtt_ = now - mru_syn_;
    }
    if (!syn && fwd.win_scale >= 0) {
        pa.window = static_cast<std::int64_t>(window) << fwd.win_scale;
        pa.window_scale = 1 << fwd.win_scale;
    } else {
        pa.window = window;
        pa.window_scale = syn ? -2 : fwd.win_scale == -1 ? -1 : -2;
    }

    // Base sequence numbers: the ISN from a SYN, else one before the first byte seen.
    if (!fwd.base_set) {
        fwd.base_seq = syn ? seq : seq - 1;
        fwd.base_set = true;
    }
    if (!rev.base_set && has_ack) {
        rev.base_seq = ack - 1;
        rev.base_set = true;
    }
    if (has_ack) rev.valid_bif = true;

    bool done_fwd = false;
    // ZERO WINDOW PROBE: one byte at the next expected seq while the peer's window is 0.
    if (seglen == 1 && seq == fwd.nextseq && rev.window == 0) {
        set({.flag = AnalysisFlag::zero_window_probe, .seq = rel(fwd, seq), .next = rel(fwd, fwd.nextseq), .len = seglen,
             .peer_window = rev.window});
        done_fwd = true;
    }
    if (!done_fwd) {
        // ZERO WINDOW: window 0 on a segment without SYN/FIN/RST.
        if (window == 0 && !syn_fin_rst) set({.flag = AnalysisFlag::zero_window, .window = window});
        // LOST SEGMENT: seq beyond the highest next seq seen: something before it was not captured.
        if (fwd.nextseq != 0 && gt_seq(seq, fwd.nextseq) && !rst) {
            set({.flag = AnalysisFlag::lost_segment, .seq = rel(fwd, seq), .next = rel(fwd, fwd.nextseq),
                 .len = seglen, .bytes = seq - fwd.nextseq});
            fwd.valid_bif = false;
        }
        // KEEP ALIVE: 0 or 1 byte starting one before the next expected seq.
        // Linux probes a zero window the same way it sends keep-alives (seq = next - 1, no
        // data: tcp_xmit_probe_skb); tshark 4.0 calls both keep-alive. While the peer's window
        // is 0 it is a zero-window probe, and labtool says so.
        if (seglen <= 1 && seq == fwd.nextseq - 1 && !syn_fin_rst) {
            if (rev.window == 0 && fwd.window_seen && rev.window_seen)
                set({.flag = AnalysisFlag::zero_window_probe, .variant = 1, .seq = rel(fwd, seq),
                     .next = rel(fwd, fwd.nextseq), .len = seglen, .peer_window = rev.window});
            else
                set({.flag = AnalysisFlag::keep_alive, .seq = rel(fwd, seq), .next = rel(fwd, fwd.nextseq), .len = seglen});
        }
        // WINDOW UPDATE: no data, same seq/ack as before, new window.
        if (seglen == 0 && window != 0 && window != fwd.window && seq == fwd.nextseq && ack == fwd.lastack &&
            !syn_fin_rst)
            set({.flag = AnalysisFlag::window_update, .seq = rel(fwd, seq), .len = seglen, .ack = rel(rev, ack),
                 .window = window, .old_window = fwd.window});
        // WINDOW FULL: the data reaches exactly the right edge of the peer's advertised window.
        if (seglen > 0 && rev.win_scale != -1 && !syn_fin_rst) {
            const int shift = rev.is_first_ack ? 0 : (rev.win_scale == -2 ? 0 : rev.win_scale);
            const std::uint32_t edge = rev.lastack + (rev.window << shift);
            if (seq + seglen == edge)
                set({.flag = AnalysisFlag::window_full, .seq = rel(fwd, seq), .len = seglen,
                     .peer_ack = rel(fwd, rev.lastack), .peer_window = static_cast<std::uint64_t>(rev.window) << shift});
        }
        const bool repeats = seglen == 0 && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack &&
                             !syn_fin_rst;
        // KEEP ALIVE ACK: repeats the previous ACK, answering a keep-alive.
        if (repeats && window != 0 &&
            (rev.lastsegmentflags & static_cast<std::uint32_t>(AnalysisFlag::keep_alive)) != 0) {
            set({.flag = AnalysisFlag::keep_alive_ack, .seq = rel(fwd, seq), .len = seglen, .ack = rel(rev, ack),
                 .window = window});
            done_fwd = true;
        }
        // ZERO WINDOW PROBE ACK: repeats the previous ACK and window 0 after a probe.
        if (!done_fwd && repeats && window == 0 &&
            (rev.lastsegmentflags & static_cast<std::uint32_t>(AnalysisFlag::zero_window_probe)) != 0) {
            set({.flag = AnalysisFlag::zero_window_probe_ack, .seq = rel(fwd, seq), .len = seglen,
                 .ack = rel(rev, ack), .window = window});
            done_fwd = true;
        }
        // DUPLICATE ACK: no data, same seq/ack/window as the previous segment.
        if (!done_fwd && repeats && window != 0) {
            ++fwd.dupacknum;
            pa.dup_ack_num = static_cast<std::uint32_t>(fwd.dupacknum);
            pa.dup_ack_frame = fwd.lastnondupack;
            set({.flag = AnalysisFlag::duplicate_ack, .seq = rel(fwd, seq), .len = seglen, .ack = rel(rev, ack),
                 .window = window, .frame = fwd.lastnondupack, .count = static_cast<std::uint64_t>(fwd.dupacknum)});
        }
    }
    // finished_fwd: a new ack number resets the duplicate counting.
    if (ack != fwd.lastack) {
        fwd.lastnondupack = frame;
        fwd.dupacknum = 0;
    }

    // ACKED UNSEEN SEGMENT: acknowledges bytes the capture never saw. Then the peer's
    // "highest seq to be acked" moves to its next seq, so one hole is reported once per jump
    // (tshark 4.0's rule, checked on lossy captures).
    if (rev.maxseqtobeacked != 0 && gt_seq(ack, rev.maxseqtobeacked) && has_ack) {
        set({.flag = AnalysisFlag::ack_lost_segment, .ack = rel(rev, ack), .highest = rel(rev, rev.maxseqtobeacked)});
        rev.maxseqtobeacked = rev.nextseq;
    }

    // RETRANSMISSION / FAST RETRANSMISSION / SPURIOUS / OUT-OF-ORDER: data (or SYN/FIN) that
    // does not advance the sequence number.
    if ((seglen > 0 || syn || fin) && !pa.has(AnalysisFlag::keep_alive)) {
        bool seq_not_advanced = fwd.nextseq != 0 && lt_seq(seq, fwd.nextseq);
        // More than one byte starting one before next seq: new data after a zero-window probe.
        if (seglen > 1 && fwd.nextseq - 1 == seq) seq_not_advanced = false;
        bool classified = false;
        if (seglen > 0 && rev.lastack != 0 && le_seq(seq + seglen, rev.lastack)) {
            set({.flag = AnalysisFlag::spurious_retransmission, .seq = rel(fwd, seq), .next = rel(fwd, fwd.nextseq),
                 .len = seglen, .peer_ack = rel(fwd, rev.lastack)});
            // A spurious or fast retransmission is also a retransmission (tcp.analysis.retransmission).
            pa.flags |= static_cast<std::uint32_t>(AnalysisFlag::retransmission);
            classified = true;
        }
        if (!classified) {
            const std::int64_t since_dup = now - rev.lastack_time;
            // Capture timestamps can step backwards; like tshark (unsigned arithmetic), a
            // negative interval never counts as "within".
            if (seq_not_advanced && rev.dupacknum >= 2 && rev.lastack == seq && since_dup >= 0 &&
                since_dup < fast_retransmission_window_ns) {
                set({.flag = AnalysisFlag::fast_retransmission, .seq = rel(fwd, seq), .next = rel(fwd, fwd.nextseq),
                     .len = seglen, .count = static_cast<std::uint64_t>(rev.dupacknum), .peer_ack = rel(fwd, rev.lastack),
                     .ms = ms(since_dup), .limit_ms = ms(fast_retransmission_window_ns)});
                pa.flags |= static_cast<std::uint32_t>(AnalysisFlag::retransmission);
                classified = true;
            }
        }
        if (!classified) {
            const std::int64_t since_next = now - fwd.nextseq_time;
            const std::int64_t threshold = first_rtt_ != 0 ? first_rtt_ : default_ooo_threshold_ns;
            const std::uint32_t end = seq + seglen + ((syn || fin) ? 1u : 0u);
            if (seq_not_advanced && since_next >= 0 && since_next < threshold && fwd.nextseq != end) {
                set({.flag = AnalysisFlag::out_of_order, .seq = rel(fwd, seq), .next = rel(fwd, fwd.nextseq),
                     .len = seglen, .ms = ms(since_next), .limit_ms = ms(threshold)});
                classified = true;
            }
        }
        if (!classified && seq_not_advanced)
            set({.flag = AnalysisFlag::retransmission, .seq = rel(fwd, seq), .next = rel(fwd, fwd.nextseq), .len = seglen});
    }

    // Remember this segment until it is acknowledged.
    std::uint32_t nextseq = seq + seglen;
    if ((seglen > 0 || syn || fin) && fwd.segments.size() < max_unacked_segments) {
        if (syn || fin) nextseq += 1;
        fwd.segments.push_back({frame, seq, nextseq, now});
        // Keep the span of unacknowledged data current without scanning every segment.
        // (Relative to the base, compared as unsigned numbers: the same arithmetic as a scan.)
        if (fwd.segments.size() == 1) {
            fwd.span_first = seq - fwd.base_seq;
            fwd.span_last = nextseq - fwd.base_seq;
            fwd.span_valid = true;
        } else if (fwd.span_valid) {
            fwd.span_first = std::min(fwd.span_first, seq - fwd.base_seq);
            fwd.span_last = std::max(fwd.span_last, nextseq - fwd.base_seq);
        }
    }
    const bool probe = pa.has(AnalysisFlag::zero_window_probe);
    if (gt_seq(nextseq, fwd.nextseq) || fwd.nextseq == 0) {
        if (!probe) {
            fwd.nextseq = nextseq;
            fwd.nextseq_time = now;
        }
    }
    if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) {
        if (!probe) fwd.maxseqtobeacked = fwd.nextseq;
    }
    fwd.window = window;
    fwd.window_seen = true;
    fwd.lastack = ack;
    fwd.lastack_time = now;
    fwd.lastsegmentflags = pa.flags;
    if (!syn && has_ack) fwd.is_first_ack = false;

    // Remove the peer's segments this ACK covers; an exact match gives the ACK's RTT. Marked
    // first and removed in one pass: a cumulative ACK may cover thousands of segments.
    bool any_gone = false;
    for (std::size_t i = rev.segments.size(); i-- > 0;) {   // newest first, as Wireshark walks
        Unacked& u = rev.segments[i];
        if (ack == u.nextseq) {
            pa.acks_frame = u.frame;
            pa.ack_rtt = static_cast<double>(now - u.ts) / 1e9;
        } else if (gt_seq(ack, u.seq) && le_seq(ack, u.nextseq)) {
            u.seq = ack;   // partly acknowledged
            rev.span_valid = false;
            continue;
        } else if (gt_seq(u.nextseq, ack)) {
            continue;
        }
        u.gone = true;
        any_gone = true;
    }
    if (any_gone) {
        std::erase_if(rev.segments, [](const Unacked& u) { return u.gone; });
        rev.span_valid = false;
    }

    // Bytes in flight after this frame: the span of this side's unacknowledged segments,
    // less what the peer reported with SACK.
    if (seglen != 0 && !fwd.segments.empty() && fwd.valid_bif) {
        // The span is kept up to date as segments are added; only after an ACK removed or
        // trimmed some is it computed again (so unacknowledged data costs O(1) per packet).
        if (!fwd.span_valid) {
            std::uint32_t first = fwd.segments.back().seq - fwd.base_seq;
            std::uint32_t last = fwd.segments.back().nextseq - fwd.base_seq;
            for (const auto& u : fwd.segments) {
                last = std::max(last, u.nextseq - fwd.base_seq);
                first = std::min(first, u.seq - fwd.base_seq);
            }
            fwd.span_first = first;
            fwd.span_last = last;
            fwd.span_valid = true;
        }
        std::uint32_t in_flight = fwd.span_last - fwd.span_first;
        for (const auto& [le, re] : rev.sack) in_flight -= re - le;
        if (in_flight > 0 && in_flight < 2'000'000'000u) pa.bytes_in_flight = in_flight - ((syn || fin) ? 1u : 0u);
    }

    // SACK blocks of this packet (RFC 2018); D-SACK when the first block lies below the
    // cumulative ACK (RFC 2883 §4).
    // Only the SACK blocks of a side's latest packet count against bytes in flight (checked
    // against tshark 4.0 on lossy captures: stale blocks are not subtracted).
    fwd.sack.clear();
    const std::size_t blocks = seg.options.sack_blocks;
    if (blocks > 0) {
        const auto& sack = seg.options.sack;
        pa.sack.assign(sack.begin(), sack.begin() + static_cast<std::ptrdiff_t>(blocks));
        pa.dsack = le_seq(sack[0].second, ack) ||
                   (blocks > 1 && le_seq(sack[1].first, sack[0].first) && le_seq(sack[0].second, sack[1].second));
        fwd.sack.assign(sack.begin(), sack.begin() + static_cast<std::ptrdiff_t>(std::min(blocks, sack_blocks_for_bif)));
    }
    return pa;
}

}  // namespace labtool::analysis
