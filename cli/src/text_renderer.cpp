// Annotated text for people: every event with its numbers and the rule behind them, coloured on
// a terminal. Only this file knows the words.
#include "renderer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <unistd.h>

namespace labtool::cli {
namespace {

namespace a = labtool::analysis;

const char* side_name(a::Direction d) { return d == a::Direction::client_to_server ? "client" : "server"; }
const char* arrow(a::Direction d) {
    return d == a::Direction::client_to_server ? "client → server" : "server → client";
}

std::string endpoint(const a::Endpoint& e) {
    const std::string ip = a::to_string(e.address);
    return e.address.v6 ? "[" + ip + "]:" + std::to_string(e.port) : ip + ":" + std::to_string(e.port);
}

bool iequals(std::string_view x, std::string_view y) {
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), [](char p, char q) {
        return std::tolower(static_cast<unsigned char>(p)) == std::tolower(static_cast<unsigned char>(q));
    });
}

class TextRenderer final : public Renderer {
public:
    TextRenderer(std::ostream& out, TextOptions o) : out_(out), color_(o.color) {}

    void on_event(const a::Event& event) override {
        std::visit([&](const auto& e) { render(e); }, event);
    }

    void flush() override { out_.flush(); }

    void on_summary(const RunSummary& s) override {
        line("");
        line(paint(bold, "Summary"));
        const double dur = s.engine.frames ? s.engine.last_time - s.engine.first_time : 0.0;
        line(fmt::format("  connections {}   requests {}   responses {}   TCP payload {} bytes   over {:.3f} s",
                         s.engine.connections, s.engine.requests, s.engine.responses, s.engine.payload_bytes, dur));
        if (s.live) {
            line(fmt::format("  packets captured {}   dropped by the kernel {}{}", s.captured, s.dropped,
                             s.dropped ? paint(red, "  (some packets were lost: the analysis may have gaps)") : ""));
        } else {
            line(fmt::format("  frames read {}   TCP frames analysed {}   other frames skipped {}", s.engine.frames,
                             s.engine.tcp_frames, s.engine.ignored));
        }
        if (s.engine.truncated || s.engine.invalid)
            line(fmt::format("  frames with headers cut short by the snaplen {}   malformed frames {}",
                             s.engine.truncated, s.engine.invalid));
        if (s.record_path)
            line(fmt::format("  recorded {} packets to {} (open it with Wireshark, or: labtool replay {})",
                             s.recorded, *s.record_path, *s.record_path));
        if (s.warning) line(paint(red, "  warning: " + *s.warning));
    }

    void on_comment(std::uint64_t frame, const std::string& comment) override {
        if (frame == 0) line(paint(dim, "capture file comment: ") + comment);
        else line(paint(dim, fmt::format("[frame {:>5}] comment: ", frame)) + comment);
    }

private:
    static constexpr const char* reset_code = "\033[0m";
    static constexpr const char* bold = "\033[1m";
    static constexpr const char* dim = "\033[2m";
    static constexpr const char* red = "\033[31m";
    static constexpr const char* green = "\033[32m";
    static constexpr const char* yellow = "\033[33m";
    static constexpr const char* blue = "\033[34m";
    static constexpr const char* magenta = "\033[35m";
    static constexpr const char* cyan = "\033[36m";

    [[nodiscard]] std::string paint(const char* code, const std::string& text) const {
        return color_ ? std::string(code) + text + reset_code : text;
    }
    void line(const std::string& text) { out_ << text << '\n'; }
    [[nodiscard]] std::string prefix(const a::EventBase& e) const {
        return paint(dim, fmt::format("[#{} frame {:>5} {:>10.6f}s]", e.stream, e.frame, e.time));
    }
    static std::string states(a::TcpState c, a::TcpState s) {
        return fmt::format("client {} · server {}", a::state_name(c), a::state_name(s));
    }

    void render(const a::PacketInfo& e) {
        const auto& pa = e.analysis;
        std::string s = fmt::format("{} {} {:<12} seq {} ack {} len {} win {}", prefix(e), arrow(e.from),
                                    a::flags_to_string(e.flags), e.seq_rel, e.ack_rel, e.len, pa.window);
        if (pa.bytes_in_flight) s += fmt::format(" in-flight {}", *pa.bytes_in_flight);
        if (pa.acks_frame) s += fmt::format(" (acks frame {}, rtt {:.3f} ms)", pa.acks_frame, pa.ack_rtt.value_or(0) * 1e3);
        if (!pa.sack.empty()) {
            const std::uint32_t base = e.ack_raw - e.ack_rel;
            s += " SACK";
            for (const auto& [le, re] : pa.sack) s += fmt::format(" {}-{}", le - base, re - base);
            if (pa.dsack) s += " (D-SACK)";
        }
        line(s);
        for (const auto& [flag, rule] : pa.rules) {
            const auto bit = static_cast<std::uint32_t>(flag);
            int index = 0;
            while (index < a::analysis_flag_count && (1u << index) != bit) ++index;
            line(fmt::format("      {} {}: {}", paint(yellow, "⚑"), a::analysis_flag_name(index), rule));
        }
    }

    void render(const a::ConnectionOpened& e) {
        line("");
        line(fmt::format("{} {} {} → {}{}", prefix(e), paint(bold, fmt::format("Connection #{}", e.stream)),
                         endpoint(e.client), endpoint(e.server),
                         e.handshake_seen ? "" : "  (picked up mid-stream: its handshake was not captured)"));
    }

    void render(const a::Handshake& e) {
        static constexpr const char* names[] = {"", "SYN", "SYN,ACK", "ACK"};
        std::string head = fmt::format("{} {} {:<8} {}", prefix(e),
                                       paint(green, fmt::format("handshake {}/3", e.step)), names[e.step], arrow(e.from));
        if (e.retransmission) head += paint(yellow, "  (retransmitted)");
        line(head);
        std::string nums = fmt::format("      seq {} (relative {})", e.seq_raw, e.seq_rel);
        if (e.step == 1) nums += "  ← the client's initial sequence number (ISN), chosen at random";
        if (e.step == 2) nums += "  ← the server's own ISN";
        line(nums);
        if (e.step >= 2) {
            line(fmt::format("      ack {} (relative {}) = {} ISN {} + 1{}", e.ack_raw, e.ack_rel,
                             e.from == a::Direction::server_to_client ? "client" : "server", e.peer_isn,
                             e.ack_is_peer_isn_plus_1 ? ": a SYN consumes one sequence number"
                                                      : paint(red, "  ✗ does not match: not a valid handshake ACK")));
        }
        if (e.step != 3) {
            std::string opts = "      options:";
            opts += e.mss ? fmt::format(" MSS {}", *e.mss) : std::string(" no MSS");
            if (e.wscale) opts += fmt::format(", window scale shift {} (×{})", *e.wscale, 1u << std::min<unsigned>(*e.wscale, 14));
            else opts += ", no window scaling";
            opts += e.sack_perm ? ", SACK permitted" : ", no SACK";
            if (e.timestamps) opts += ", timestamps";
            opts += fmt::format("; window {} (never scaled in a SYN)", e.window);
            line(opts);
        } else {
            line(fmt::format("      window {} (to be multiplied by the scale agreed in the SYNs)", e.window));
        }
        line(fmt::format("      now: {}{}", states(e.client_state, e.server_state),
                         e.step == 3 ? " — three packets, because each side must send its ISN and hear it acknowledged"
                                     : ""));
    }

    void show_headers(const std::vector<a::HttpHeader>& headers, std::initializer_list<std::string_view> wanted) {
        for (auto name : wanted)
            for (const auto& h : headers)
                if (iequals(h.name, name)) line(fmt::format("      {}: {}", h.name, h.value));
    }

    static std::string segment_list(const std::vector<a::SegmentRef>& segs, bool acks) {
        std::string s;
        const std::size_t shown = std::min<std::size_t>(segs.size(), 12);
        for (std::size_t i = 0; i < shown; ++i) {
            const auto& g = segs[i];
            s += fmt::format("\n        frame {:>5}: seq {} + {} bytes = next seq {}", g.frame, g.seq_rel, g.len,
                             static_cast<std::uint64_t>(g.seq_rel) + g.len);
            if (acks) s += g.acked_by ? fmt::format("   acked by frame {}", g.acked_by) : std::string("   not acked");
        }
        if (segs.size() > shown) s += fmt::format("\n        … and {} more segments", segs.size() - shown);
        return s;
    }

    void render(const a::HttpRequest& e) {
        line(fmt::format("{} {} {} {} {}", prefix(e), paint(cyan, "HTTP request →"),
                         paint(bold, e.method), e.uri, e.version));
        show_headers(e.headers, {"Host", "Connection", "User-Agent", "Accept", "Range", "If-None-Match",
                                 "If-Modified-Since"});
        line(fmt::format("      {} header bytes{} in {} segment{}{}", e.header_bytes,
                         e.body_bytes ? fmt::format(" + {} body bytes", e.body_bytes) : std::string(),
                         e.segments.size(), e.segments.size() == 1 ? "" : "s",
                         e.index > 0 ? fmt::format("; request #{} on this kept-alive connection", e.index + 1) : ""));
    }

    void render(const a::HttpResponse& e) {
        const char* colour = e.status >= 400 ? red : e.status >= 300 ? yellow : blue;
        line(fmt::format("{} {} {} {} {}{}", prefix(e), paint(colour, "HTTP response ←"), e.version,
                         paint(bold, std::to_string(e.status)), e.reason,
                         e.request_uri ? fmt::format("   answers {} {} (frame {})", e.request_method.value_or(""),
                                                     *e.request_uri, e.request_frame)
                                       : std::string("   (its request was not captured)")));
        show_headers(e.headers, {"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Connection",
                                 "Keep-Alive", "Transfer-Encoding"});
        if (e.status == 206)
            line("      206 Partial Content: the client asked for a byte range (Range), the server sent that part");
        const std::uint64_t total = e.header_bytes + e.body_bytes;
        line(fmt::format("      {} bytes ({} header + {} body) carried in {} TCP segment{}:{}", total, e.header_bytes,
                         e.body_bytes, e.segments.size(), e.segments.size() == 1 ? "" : "s",
                         segment_list(e.segments, false)));
        if (e.segments.size() > 1)
            line("      each segment's seq + length = the next segment's seq: TCP numbers bytes, not packets");
        if (!e.complete) line(paint(red, "      incomplete: the connection ended before the whole body arrived"));
    }

    void render(const a::ResponseAcked& e) {
        std::string frames;
        for (auto f : e.ack_frames) frames += (frames.empty() ? "" : ", ") + std::to_string(f);
        line(fmt::format("{} {} client acknowledged the whole {} response{} (ack {}) in frame{} {}{}", prefix(e),
                         paint(green, "ACK ✓"), e.status,
                         e.request_uri ? " to " + *e.request_uri : std::string(), e.ack_rel,
                         e.ack_frames.size() == 1 ? "" : "s", frames, segment_list(e.segments, true)));
    }

    void render(const a::Teardown& e) {
        std::string what;
        if (e.fin && e.acks_fin) what = "FIN that also acknowledges the peer's FIN";
        else if (e.fin) what = e.len ? fmt::format("FIN on the last data segment ({} bytes)", e.len) : "FIN: no more data from this side";
        else what = "ACK of the peer's FIN";
        line(fmt::format("{} {} {:<12} {}  seq {} ack {}  {}", prefix(e),
                         paint(magenta, fmt::format("teardown {}", e.step)), a::flags_to_string(e.flags), arrow(e.from),
                         e.seq_rel, e.ack_rel, what));
        std::string note;
        if (e.step == 1) note = fmt::format(" — the {} closes first", side_name(e.from));
        if (e.client_state == a::TcpState::time_wait || e.server_state == a::TcpState::time_wait)
            if (e.client_state == a::TcpState::closed || e.server_state == a::TcpState::closed)
                note = " — TIME-WAIT lasts 2×MSL so a lost last ACK can be resent";
        line(fmt::format("      now: {}{}", states(e.client_state, e.server_state), note));
    }

    void render(const a::Reset& e) {
        if (e.after_end) {
            line(fmt::format("{} {} {} {}  seq {}  another RST: the connection is already gone, so the {}'s kernel "
                             "answers each segment still arriving with a reset",
                             prefix(e), paint(red, "RESET"), a::flags_to_string(e.flags), arrow(e.from), e.seq_rel,
                             side_name(e.from)));
            return;
        }
        line(fmt::format("{} {} {} {}  seq {}  the {} aborts the connection (was: {})", prefix(e),
                         paint(red, "RESET"), a::flags_to_string(e.flags), arrow(e.from), e.seq_rel, side_name(e.from),
                         states(e.client_state_before, e.server_state_before)));
        line("      now: client CLOSED · server CLOSED — no FIN exchange, no TIME-WAIT");
    }

    void render(const a::StreamGap& e) {
        line(fmt::format("{} {} {} bytes from the {} at seq {} were not captured", prefix(e), paint(red, "gap"),
                         e.bytes, side_name(e.from), e.seq_rel));
    }

    void render(const a::HttpParseError& e) {
        line(fmt::format("{} {} the {}'s bytes are not HTTP/1.x ({}); not parsed further", prefix(e),
                         paint(yellow, "not HTTP"), side_name(e.from), e.reason));
    }

    void render(const a::ConnectionEnd& e) {
        std::string how;
        switch (e.close_kind) {
            case a::CloseKind::fin:
                how = e.closed_first ? fmt::format("closed with FIN; the {} closed first", side_name(*e.closed_first))
                                     : "closed with FIN";
                break;
            case a::CloseKind::rst: how = fmt::format("aborted by RST from the {}", e.closed_first ? side_name(*e.closed_first) : "?"); break;
            case a::CloseKind::open: how = "still open when the capture ended"; break;
        }
        line(fmt::format("{} {} {}: {}; {} requests, {} responses; client sent {} packets / {} bytes, server {} packets / {} bytes; {:.3f} s; final {}",
                         prefix(e), paint(bold, "end of connection"), e.stream, how, e.requests, e.responses,
                         e.client_to_server.packets, e.client_to_server.bytes, e.server_to_client.packets,
                         e.server_to_client.bytes, e.duration, states(e.client_state, e.server_state)));
        std::string flags;
        for (int i = 0; i < a::analysis_flag_count; ++i) {
            const auto n = e.analysis_counts[static_cast<std::size_t>(i)];
            if (n) flags += fmt::format("{}{} {}", flags.empty() ? "" : ", ", n, a::analysis_flag_name(i));
        }
        line(fmt::format("      Wireshark completeness {}, Zeek conn_state {} history {}{}{}", e.completeness,
                         e.conn_state, e.history,
                         e.initial_rtt ? fmt::format(", initial RTT {:.3f} ms", *e.initial_rtt * 1e3) : std::string(),
                         flags.empty() ? std::string() : "; " + flags));
    }

    std::ostream& out_;
    bool color_;
};

}  // namespace

std::unique_ptr<Renderer> make_text_renderer(std::ostream& out, TextOptions options) {
    return std::make_unique<TextRenderer>(out, options);
}

bool want_color(bool no_color_flag) {
    if (no_color_flag) return false;
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0') return false;
    return ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace labtool::cli
