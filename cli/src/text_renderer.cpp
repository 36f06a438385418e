// Annotated text for people: every event with its numbers, the rule behind them and the
// arithmetic a student would otherwise do by hand, in English or Chinese (messages.cpp), coloured
// on a terminal. -q gives one line per connection and per HTTP exchange.
#include "explain.hpp"
#include "messages.hpp"
#include "packet_details.hpp"
#include "renderer.hpp"

#include "labtool/platform/process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

namespace labtool::cli {
namespace {

using namespace ansi;  // colour names: red, dim …

namespace a = labtool::analysis;

constexpr std::uint32_t ethernet_mss = 1460;
constexpr std::size_t segments_shown = 12;
constexpr std::size_t summary_rows_kept = 500;   // per table; the rest are counted

bool is_loopback(const a::IpAddress& ip) {
    if (!ip.v6) return ip.bytes[0] == 127;
    for (std::size_t i = 0; i < 15; ++i)
        if (ip.bytes[i] != 0) return false;
    return ip.bytes[15] == 1;
}

std::string state(a::TcpState s) { return std::string(a::state_name(s)); }

std::string ms(double seconds) { return fmt::format("{:.3f}", seconds * 1e3); }

/// What the renderer remembers about a connection to explain later events.
struct ConnInfo {
    a::Endpoint client;
    a::Endpoint server;
    std::optional<std::uint8_t> client_wscale;
    std::optional<std::uint8_t> server_wscale;
    std::optional<std::uint16_t> client_mss;
    std::optional<std::uint16_t> server_mss;
    int teardown_packets = 0;
    bool closing_explained = false;
};

struct ConnRow {
    std::uint32_t stream = 0;
    std::string client;
    std::uint32_t requests = 0;
    std::uint64_t client_bytes = 0;
    std::uint64_t server_bytes = 0;
    std::uint64_t packets = 0;
    double duration = 0;
    std::string closed;
};

struct HttpRow {
    std::uint32_t stream = 0;
    std::string request;
    int status = 0;
    std::uint64_t bytes = 0;
    std::size_t segments = 0;
    std::optional<double> time;
};

class TextRenderer final : public Renderer {
public:
    TextRenderer(std::ostream& out, TextOptions o) : out_(out), opt_(o) {}

    void on_event(const a::Event& event) override {
        std::visit([&](const auto& e) { render(e); }, event);
    }

    void flush() override { out_.flush(); }

    void on_frame(std::uint64_t number, double time, const a::Frame& frame) override {
        if (!opt_.verbose || opt_.brief) return;
        frame_number_ = number;
        frame_time_ = time;
        frame_link_ = frame.link;
        frame_wire_len_ = frame.wire_len;
        frame_bytes_.assign(frame.bytes.begin(), frame.bytes.end());
    }

    void on_comment(std::uint64_t frame, const std::string& comment) override {
        if (frame == 0) line(paint(dim, T(Msg::comment_file, fmt::arg("text", comment))));
        else line(paint(dim, T(Msg::comment_packet, fmt::arg("frame", frame), fmt::arg("text", comment))));
    }

    void on_summary(const RunSummary& s) override {
        line("");
        line(paint(bold, T(Msg::sum_title)));
        const double dur = s.engine.frames ? s.engine.last_time - s.engine.first_time : 0.0;
        line("  " + T(Msg::sum_totals, fmt::arg("connections", s.engine.connections),
                      fmt::arg("requests", s.engine.requests), fmt::arg("responses", s.engine.responses),
                      fmt::arg("bytes", s.engine.payload_bytes), fmt::arg("duration", fmt::format("{:.3f}", dur))));
        if (s.live) {
            std::string l = "  " + T(Msg::sum_live, fmt::arg("captured", s.captured), fmt::arg("dropped", s.dropped));
            if (s.dropped) l += "  " + paint(red, T(Msg::sum_dropped));
            line(l);
        } else {
            line("  " + T(Msg::sum_replay, fmt::arg("frames", s.engine.frames), fmt::arg("tcp", s.engine.tcp_frames),
                          fmt::arg("ignored", s.engine.ignored)));
        }
        if (s.engine.truncated || s.engine.invalid)
            line("  " + T(Msg::sum_malformed, fmt::arg("truncated", s.engine.truncated), fmt::arg("invalid", s.engine.invalid)));
        if (!conn_rows_.empty()) {
            line("");
            line("  " + paint(bold, T(Msg::sum_conn_header)));
            for (const auto& r : conn_rows_)
                line(fmt::format("  #{:<6}{:<25}{:>8}{:>11}{:>11}{:>9}{:>9.3f}s  {}", r.stream, r.client, r.requests,
                                 r.client_bytes, r.server_bytes, r.packets, r.duration, r.closed));
            if (conn_rows_dropped_) line("  " + T(Msg::sum_more_rows, fmt::arg("n", conn_rows_dropped_)));
        }
        if (!http_rows_.empty()) {
            line("");
            line("  " + paint(bold, T(Msg::sum_http_header)));
            for (const auto& r : http_rows_) {
                std::string req = r.request.size() > 40 ? r.request.substr(0, 39) + "…" : r.request;
                line(fmt::format("  #{:<6}{:<42}{:>6}{:>11}{:>10}  {}", r.stream, req, r.status, r.bytes, r.segments,
                                 r.time ? ms(*r.time) + " ms" : std::string("-")));
            }
            if (http_rows_dropped_) line("  " + T(Msg::sum_more_rows, fmt::arg("n", http_rows_dropped_)));
        }
        if (s.record_path)
            line("  " + T(Msg::sum_recorded, fmt::arg("packets", s.recorded), fmt::arg("path", *s.record_path)));
        if (s.warning) line(paint(red, "  " + T(Msg::sum_warning, fmt::arg("text", *s.warning))));
    }

private:

    /// The catalogue text of `m`, formatted with named arguments.
    template <typename... Args>
    std::string T(Msg m, Args&&... args) const {
        return format_msg(opt_.lang, m, std::forward<Args>(args)...);
    }
    [[nodiscard]] std::string side(a::Direction d) const { return side_text(opt_.lang, d); }
    [[nodiscard]] std::string arrow(a::Direction d) const {
        return T(d == a::Direction::client_to_server ? Msg::arrow_c2s : Msg::arrow_s2c);
    }
    [[nodiscard]] std::string paint(const char* code, const std::string& t) const {
        return ansi::paint(opt_.color, code, t);
    }
    void line(const std::string& t) { out_ << t << '\n'; }
    void detail(const std::string& t) {
        if (!opt_.brief) out_ << "      " << t << '\n';
    }
    [[nodiscard]] std::string prefix(const a::EventBase& e) const {
        return paint(dim, fmt::format("[#{} frame {:>5} {:>10.6f}s]", e.stream, e.frame, e.time));
    }
    [[nodiscard]] std::string states(a::TcpState c, a::TcpState s) const {
        return T(Msg::states_now, fmt::arg("client", state(c)), fmt::arg("server", state(s)));
    }

    void render(const a::PacketInfo& e) {
        if (opt_.brief) return;
        if (opt_.verbose && e.frame == frame_number_) {
            const a::Frame f{frame_link_, {}, frame_wire_len_, frame_bytes_};
            line("");
            const auto lines = packet_details(e.frame, frame_time_, f, &e);
            for (std::size_t i = 0; i < lines.size(); ++i) line(i == 0 ? paint(bold, lines[i]) : "  " + lines[i]);
            if (opt_.hex)
                for (const auto& h : hex_dump(frame_bytes_)) line("  " + paint(dim, h));
            return;
        }
        const auto& pa = e.analysis;
        std::string s = fmt::format("{} {} {:<12} seq {} ack {} len {} win {}", prefix(e), arrow(e.from),
                                    a::flags_to_string(e.flags), e.seq_rel, e.ack_rel, e.len, pa.window);
        if (pa.bytes_in_flight) s += " " + T(Msg::pkt_in_flight, fmt::arg("bytes", *pa.bytes_in_flight));
        if (pa.acks_frame)
            s += " (" + T(Msg::pkt_acks, fmt::arg("frame", pa.acks_frame), fmt::arg("ms", ms(pa.ack_rtt.value_or(0)))) + ")";
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
            detail(paint(yellow, "⚑ ") +
                   T(Msg::pkt_flag, fmt::arg("flag", a::analysis_flag_name(index)), fmt::arg("rule", rule)));
        }
    }

    void render(const a::ConnectionOpened& e) {
        ConnInfo& c = conns_[e.stream];
        c.client = e.client;
        c.server = e.server;
        if (opt_.brief) {
            open_.insert(e.stream);
            return;
        }
        line("");
        line(prefix(e) + " " +
             paint(bold, T(Msg::conn_opened, fmt::arg("stream", e.stream), fmt::arg("client", a::to_string(e.client)),
                           fmt::arg("server", a::to_string(e.server)))));
        if (!e.handshake_seen) detail(T(Msg::conn_midstream));
        if (!checksum_noted_ && is_loopback(e.client.address)) {
            checksum_noted_ = true;
            detail(paint(dim, T(Msg::checksum_note)));
        }
        for (auto other : open_) {
            if (other == e.stream) continue;
            if (conns_[other].server.port == e.server.port && conns_[other].client.address == e.client.address) {
                detail(paint(dim, T(Msg::parallel_note, fmt::arg("other", other))));
                break;
            }
        }
        open_.insert(e.stream);
    }

    void render(const a::Handshake& e) {
        ConnInfo& c = conns_[e.stream];
        if (e.step == 1) {
            c.client_wscale = e.wscale;
            c.client_mss = e.mss;
        } else if (e.step == 2) {
            c.server_wscale = e.wscale;
            c.server_mss = e.mss;
        }
        if (opt_.brief) return;
        static constexpr const char* names[] = {"", "SYN", "SYN,ACK", "ACK"};
        std::string head = fmt::format("{} {} {:<8} {}", prefix(e), paint(green, T(Msg::hs_title, fmt::arg("step", e.step))),
                                       names[e.step], arrow(e.from));
        if (e.retransmission) head += " " + paint(yellow, T(Msg::hs_retransmitted));
        line(head);
        if (e.step == 1) detail(T(Msg::hs_syn_seq, fmt::arg("raw", e.seq_raw)));
        if (e.step == 2) detail(T(Msg::hs_synack_seq, fmt::arg("raw", e.seq_raw)));
        if (e.step == 3) detail(T(Msg::hs_ack_seq, fmt::arg("raw", e.seq_raw), fmt::arg("rel", e.seq_rel)));
        if (e.step >= 2) {
            const std::string peer = side(e.from == a::Direction::server_to_client ? a::Direction::client_to_server
                                                                                  : a::Direction::server_to_client);
            if (e.ack_is_peer_isn_plus_1)
                detail(T(Msg::hs_ack_rule, fmt::arg("ack", e.ack_raw), fmt::arg("rel", e.ack_rel), fmt::arg("peer", peer),
                         fmt::arg("isn", e.peer_isn)));
            else
                detail(paint(red, T(Msg::hs_ack_bad, fmt::arg("ack", e.ack_raw), fmt::arg("peer", peer),
                                    fmt::arg("isn", e.peer_isn))));
        }
        if (e.step != 3) {
            std::vector<std::string> opts;
            opts.push_back(e.mss ? T(Msg::opt_mss, fmt::arg("mss", *e.mss)) : T(Msg::opt_no_mss));
            opts.push_back(e.wscale ? T(Msg::opt_ws, fmt::arg("shift", *e.wscale),
                                        fmt::arg("mult", 1u << std::min<unsigned>(*e.wscale, 14)))
                                    : T(Msg::opt_no_ws));
            opts.push_back(T(e.sack_perm ? Msg::opt_sack : Msg::opt_no_sack));
            if (e.timestamps) opts.push_back(T(Msg::opt_ts));
            opts.push_back(T(Msg::opt_syn_window, fmt::arg("win", e.window)));
            std::string joined;
            for (const auto& o : opts) joined += (joined.empty() ? "" : "; ") + o;
            detail(joined);
        } else {
            // RFC 7323 §2.3: the window a host sends is scaled by the shift that host announced.
            if (c.client_wscale && c.server_wscale) {
                const unsigned mult = 1u << std::min<unsigned>(*c.client_wscale, 14);
                detail(T(Msg::hs_window_scaled, fmt::arg("raw", e.window), fmt::arg("mult", mult),
                         fmt::arg("bytes", static_cast<std::uint64_t>(e.window) * mult)));
            } else {
                detail(T(Msg::hs_window_unscaled, fmt::arg("raw", e.window)));
            }
        }
        detail(states(e.client_state, e.server_state));
        if (e.step == 3) detail(paint(dim, T(Msg::hs_why_three)));
    }

    void explain_headers(const std::vector<a::HttpHeader>& headers, const std::vector<std::pair<std::string_view, Msg>>& wanted) {
        for (const auto& [name, msg] : wanted)
            for (const auto& h : headers)
                if (a::iequals(h.name, name)) {
                    Msg m = msg;
                    if (msg == Msg::hdr_connection_keep_alive && a::iequals(h.value, "close")) m = Msg::hdr_connection_close;
                    detail(fmt::format("{}: {}   {}", h.name, h.value, paint(dim, "← " + T(m))));
                }
    }

    [[nodiscard]] std::string segment_text(const a::SegmentRef& g) const {
        return T(Msg::resp_segment, fmt::arg("frame", g.frame), fmt::arg("seq", g.seq_rel), fmt::arg("len", g.len),
                 fmt::arg("next", static_cast<std::uint64_t>(g.seq_rel) + g.len));
    }

    void render(const a::HttpRequest& e) {
        busy_[e.stream].push_back(e.uri);
        std::optional<std::pair<std::uint32_t, std::string>> busy_other;
        for (const auto& [stream, pending] : busy_)
            if (stream != e.stream && !pending.empty() && conns_.count(stream) && conns_.count(e.stream) &&
                conns_[stream].server.port == conns_[e.stream].server.port) {
                busy_other = std::make_pair(stream, pending.front());
                break;
            }
        if (opt_.brief) return;
        line(fmt::format("{} {} {} {} {}", prefix(e), paint(cyan, T(Msg::req_title)), paint(bold, e.method), e.uri,
                         e.version));
        explain_headers(e.headers, {{"Host", Msg::hdr_host},
                                    {"Connection", Msg::hdr_connection_keep_alive},
                                    {"User-Agent", Msg::hdr_user_agent},
                                    {"Accept", Msg::hdr_accept},
                                    {"Range", Msg::hdr_range},
                                    {"If-None-Match", Msg::hdr_if_none_match},
                                    {"If-Modified-Since", Msg::hdr_if_modified_since}});
        if (e.headers_truncated) detail(paint(yellow, T(Msg::req_headers_truncated)));
        detail(T(Msg::req_size, fmt::arg("header", e.header_bytes),
                 fmt::arg("body", e.body_bytes ? T(Msg::req_body_part, fmt::arg("n", e.body_bytes)) : std::string()),
                 fmt::arg("segments", e.segments.size())));
        if (!e.segments.empty()) {
            const auto& first = e.segments.front();
            const std::uint64_t total = e.header_bytes + e.body_bytes;
            detail(T(Msg::req_next_seq, fmt::arg("next", first.seq_rel + total), fmt::arg("seq", first.seq_rel),
                     fmt::arg("len", total), fmt::arg("method", e.method)));
        }
        if (e.index > 0) detail(T(Msg::req_keepalive, fmt::arg("n", e.index + 1)));
        if (e.uri == "/favicon.ico") detail(paint(dim, T(Msg::req_favicon)));
        if (busy_other)
            detail(paint(dim, T(Msg::busy_note, fmt::arg("other", busy_other->first), fmt::arg("uri", busy_other->second))));
    }

    void render(const a::HttpResponse& e) {
        const bool interim = e.status >= 100 && e.status < 200 && e.status != 101;
        if (auto it = busy_.find(e.stream); it != busy_.end() && !it->second.empty() && !interim)
            it->second.erase(it->second.begin());
        const std::uint64_t total = e.header_bytes + e.body_bytes;
        HttpRow row;
        row.stream = e.stream;
        row.request = (e.request_method ? *e.request_method + " " : std::string()) + e.request_uri.value_or("?");
        row.status = e.status;
        row.bytes = total;
        row.segments = e.segments.size();
        row.time = e.time_to_first_byte;
        if (http_rows_.size() < summary_rows_kept) http_rows_.push_back(row);
        else ++http_rows_dropped_;
        if (opt_.brief) {
            line(T(Msg::brief_exchange, fmt::arg("stream", e.stream), fmt::arg("method", e.request_method.value_or("?")),
                   fmt::arg("uri", e.request_uri.value_or("?")), fmt::arg("status", e.status), fmt::arg("reason", e.reason),
                   fmt::arg("bytes", total), fmt::arg("segments", e.segments.size()),
                   fmt::arg("ms", e.time_since_request ? ms(*e.time_since_request) : std::string("-"))));
            return;
        }
        const char* colour = e.status >= 400 ? red : e.status >= 300 ? yellow : blue;
        std::string answers = e.request_uri
                                  ? T(Msg::resp_answers, fmt::arg("method", e.request_method.value_or("")),
                                      fmt::arg("uri", *e.request_uri), fmt::arg("frame", e.request_frame),
                                      fmt::arg("ms", ms(e.time_since_request.value_or(0))))
                                  : T(Msg::resp_no_request);
        line(fmt::format("{} {} {} {} {}   {}", prefix(e), paint(colour, T(Msg::resp_title)), e.version,
                         paint(bold, std::to_string(e.status)), e.reason, answers));
        explain_headers(e.headers, {{"Content-Type", Msg::hdr_content_type},
                                    {"Content-Length", Msg::hdr_content_length},
                                    {"Content-Range", Msg::hdr_content_range},
                                    {"Accept-Ranges", Msg::hdr_accept_ranges},
                                    {"Cache-Control", Msg::hdr_cache_control},
                                    {"Last-Modified", Msg::hdr_last_modified},
                                    {"ETag", Msg::hdr_etag},
                                    {"Connection", Msg::hdr_connection_keep_alive},
                                    {"Keep-Alive", Msg::hdr_keep_alive},
                                    {"Transfer-Encoding", Msg::hdr_transfer_encoding}});
        if (e.headers_truncated) detail(paint(yellow, T(Msg::resp_headers_truncated)));
        if (e.status == 206) detail(T(Msg::resp_206));
        if (e.status == 304) detail(T(Msg::resp_304));
        if (e.status == 404) detail(T(Msg::resp_404));
        detail(T(Msg::resp_carried, fmt::arg("total", total), fmt::arg("header", e.header_bytes),
                 fmt::arg("body", e.body_bytes), fmt::arg("segments", e.segments.size())));
        const std::size_t shown = std::min(e.segments.size(), segments_shown);
        for (std::size_t i = 0; i < shown; ++i) detail("  " + segment_text(e.segments[i]));
        if (e.segments.size() > shown) detail("  " + T(Msg::resp_more_segments, fmt::arg("n", e.segments.size() - shown)));
        if (e.segments.size() > 1) detail(paint(dim, T(Msg::resp_split)));
        if (total > ethernet_mss)
            detail(paint(dim, T(Msg::resp_ethernet, fmt::arg("total", total),
                                fmt::arg("n", (total + ethernet_mss - 1) / ethernet_mss))));
        for (auto it = e.segments.rbegin(); it != e.segments.rend(); ++it)
            if (it->flags & a::tcp_flag::psh) {
                detail(paint(dim, T(Msg::resp_psh, fmt::arg("frame", it->frame))));
                break;
            }
        if (!e.complete) detail(paint(red, T(Msg::resp_incomplete)));
    }

    void render(const a::ResponseAcked& e) {
        if (opt_.brief) return;
        std::string frames;
        for (auto f : e.ack_frames) frames += (frames.empty() ? "" : ", ") + std::to_string(f);
        line(fmt::format("{} {} {}", prefix(e), paint(green, T(Msg::ack_title)),
                         T(Msg::ack_whole, fmt::arg("status", e.status),
                           fmt::arg("to", e.request_uri ? " " + *e.request_uri : std::string()), fmt::arg("ack", e.ack_rel),
                           fmt::arg("frames", frames))));
        const std::size_t shown = std::min(e.segments.size(), segments_shown);
        for (std::size_t i = 0; i < shown; ++i) {
            const auto& g = e.segments[i];
            detail("  " + (g.acked_by ? T(Msg::ack_segment, fmt::arg("segment", segment_text(g)), fmt::arg("by", g.acked_by))
                                      : T(Msg::ack_not_yet, fmt::arg("segment", segment_text(g)))));
        }
        if (e.segments.size() > shown) detail("  " + T(Msg::resp_more_segments, fmt::arg("n", e.segments.size() - shown)));
    }

    void render(const a::Teardown& e) {
        if (e.after_end) {
            // The connection's summary is printed already: explain the late FIN or ACK alone.
            if (opt_.brief) return;
            line(fmt::format("{} {} {:<12} {}  seq {} ack {}", prefix(e), paint(magenta, T(Msg::td_title, fmt::arg("step", e.step))),
                             a::flags_to_string(e.flags), arrow(e.from), e.seq_rel, e.ack_rel));
            detail(late_teardown_text(opt_.lang, e));
            detail(states(e.client_state, e.server_state));
            return;
        }
        ConnInfo& c = conns_[e.stream];
        ++c.teardown_packets;
        if (opt_.brief) return;
        Msg what = Msg::td_ack;
        if (e.fin && e.acks_fin) what = Msg::td_fin_and_ack;
        else if (e.fin && e.len) what = Msg::td_fin_on_data;
        else if (e.fin) what = Msg::td_fin;
        line(fmt::format("{} {} {:<12} {}  seq {} ack {}  {}", prefix(e),
                         paint(magenta, T(Msg::td_title, fmt::arg("step", e.step))), a::flags_to_string(e.flags),
                         arrow(e.from), e.seq_rel, e.ack_rel, T(what, fmt::arg("len", e.len))));
        detail(states(e.client_state, e.server_state));
        if (e.step == 1) detail(T(Msg::td_first, fmt::arg("side", side(e.from))));
        if (e.client_state == a::TcpState::closing && e.server_state == a::TcpState::closing && !c.closing_explained) {
            c.closing_explained = true;
            detail(T(Msg::td_closing));
        }
        const bool one_closed = e.client_state == a::TcpState::closed || e.server_state == a::TcpState::closed;
        const bool one_waiting = e.client_state == a::TcpState::time_wait || e.server_state == a::TcpState::time_wait;
        if (one_closed && one_waiting) detail(paint(dim, T(Msg::td_time_wait)));
    }

    void render(const a::Reset& e) {
        if (opt_.brief) return;
        if (e.after_end) {
            line(fmt::format("{} {} {} {}  seq {}  {}", prefix(e), paint(red, T(Msg::rst_title)),
                             a::flags_to_string(e.flags), arrow(e.from), e.seq_rel,
                             T(Msg::rst_late, fmt::arg("side", side(e.from)))));
            return;
        }
        line(fmt::format("{} {} {} {}  seq {}  {}", prefix(e), paint(red, T(Msg::rst_title)), a::flags_to_string(e.flags),
                         arrow(e.from), e.seq_rel,
                         T(Msg::rst_abort, fmt::arg("side", side(e.from)),
                           fmt::arg("states", state(e.client_state_before) + " · " + state(e.server_state_before)))));
        detail(T(Msg::rst_now));
    }

    void render(const a::StreamGap& e) {
        if (opt_.brief) return;
        line(fmt::format("{} {} {}", prefix(e), paint(red, "gap"),
                         T(Msg::gap_line, fmt::arg("bytes", e.bytes), fmt::arg("side", side(e.from)), fmt::arg("seq", e.seq_rel))));
    }

    void render(const a::HttpParseError& e) {
        if (opt_.brief) return;
        line(fmt::format("{} {} {}", prefix(e), paint(yellow, "HTTP?"),
                         T(Msg::not_http, fmt::arg("side", side(e.from)), fmt::arg("reason", e.reason))));
    }

    void render(const a::ConnectionEnd& e) {
        open_.erase(e.stream);
        const ConnInfo c = conns_[e.stream];
        conns_.erase(e.stream);
        busy_.erase(e.stream);
        std::string how;
        std::string closed;
        const std::string first = e.closed_first ? side(*e.closed_first) : std::string("?");
        switch (e.close_kind) {
            case a::CloseKind::fin:
                how = T(Msg::end_fin, fmt::arg("side", first));
                closed = T(Msg::close_by_fin, fmt::arg("side", first));
                break;
            case a::CloseKind::rst:
                how = T(Msg::end_rst, fmt::arg("side", first));
                closed = T(Msg::close_by_rst, fmt::arg("side", first));
                break;
            case a::CloseKind::open:
                how = T(Msg::end_open);
                closed = T(Msg::close_open);
                break;
        }
        if (conn_rows_.size() < summary_rows_kept)
            conn_rows_.push_back({e.stream, a::to_string(e.client), e.requests, e.client_to_server.bytes,
                                  e.server_to_client.bytes, e.client_to_server.packets + e.server_to_client.packets,
                                  e.duration, closed});
        else
            ++conn_rows_dropped_;
        if (opt_.brief) {
            line(T(Msg::brief_connection, fmt::arg("stream", e.stream), fmt::arg("client", a::to_string(e.client)),
                   fmt::arg("server", a::to_string(e.server)), fmt::arg("how", how), fmt::arg("requests", e.requests),
                   fmt::arg("packets", e.client_to_server.packets + e.server_to_client.packets),
                   fmt::arg("duration", fmt::format("{:.3f}", e.duration))));
            return;
        }
        line(fmt::format("{} {} {}", prefix(e), paint(bold, T(Msg::end_title, fmt::arg("stream", e.stream))),
                         T(Msg::end_line, fmt::arg("how", how), fmt::arg("requests", e.requests),
                           fmt::arg("responses", e.responses), fmt::arg("cp", e.client_to_server.packets),
                           fmt::arg("cb", e.client_to_server.bytes), fmt::arg("sp", e.server_to_client.packets),
                           fmt::arg("sb", e.server_to_client.bytes), fmt::arg("duration", fmt::format("{:.3f}", e.duration)),
                           fmt::arg("cs", state(e.client_state)), fmt::arg("ss", state(e.server_state)))));
        if (e.close_kind == a::CloseKind::fin && c.teardown_packets == 3) detail(paint(dim, T(Msg::td_three)));
        if (e.close_kind == a::CloseKind::fin && !why_four_explained_) {
            why_four_explained_ = true;
            detail(paint(dim, T(Msg::td_why_four)));
        }
        if (e.close_kind == a::CloseKind::fin && c.teardown_packets == 4) detail(paint(dim, T(Msg::td_four)));
        if (e.requests == 0 && e.handshake_seen && e.client_to_server.bytes == 0)
            detail(paint(dim, T(Msg::end_preconnect)));
        detail(T(Msg::end_stats, fmt::arg("completeness", e.completeness), fmt::arg("state", e.conn_state),
                 fmt::arg("history", e.history),
                 fmt::arg("rtt", e.initial_rtt ? T(Msg::end_rtt_part, fmt::arg("ms", ms(*e.initial_rtt))) : std::string())));
        std::string flags;
        for (int i = 0; i < a::analysis_flag_count; ++i) {
            const auto n = e.analysis_counts[static_cast<std::size_t>(i)];
            if (n) flags += fmt::format("{}{} {}", flags.empty() ? "" : ", ", n, a::analysis_flag_name(i));
        }
        if (!flags.empty()) detail(T(Msg::end_flags, fmt::arg("flags", flags)));
    }

    std::ostream& out_;
    TextOptions opt_;
    std::map<std::uint32_t, ConnInfo> conns_;
    std::set<std::uint32_t> open_;
    std::map<std::uint32_t, std::vector<std::string>> busy_;   // requests still waiting for an answer
    bool checksum_noted_ = false;
    bool why_four_explained_ = false;
    std::vector<ConnRow> conn_rows_;
    std::vector<HttpRow> http_rows_;
    std::uint64_t frame_number_ = 0;
    double frame_time_ = 0;
    a::LinkType frame_link_ = a::LinkType::ethernet;
    std::uint32_t frame_wire_len_ = 0;
    std::vector<std::uint8_t> frame_bytes_;
    std::uint64_t conn_rows_dropped_ = 0;
    std::uint64_t http_rows_dropped_ = 0;
};

}  // namespace

std::unique_ptr<Renderer> make_text_renderer(std::ostream& out, TextOptions options) {
    return std::make_unique<TextRenderer>(out, options);
}

bool want_color(bool no_color_flag) {
    if (no_color_flag) return false;
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0') return false;
    return labtool::platform::stdout_is_terminal();  // (on Windows, VT mode was set up by main)
}

}  // namespace labtool::cli
