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

constexpr std::size_t segments_shown = 12;
constexpr std::size_t columns = 100;
constexpr std::size_t hex_bytes_shown = 256;   // -x: bytes of each frame dumped           // width of the default output
constexpr std::size_t max_header_value = 48;   // columns of a header value in default output
constexpr std::size_t summary_rows_kept = 500;   // per table; the rest are counted

std::string state(a::TcpState s) { return std::string(a::state_name(s)); }

std::string ms(double seconds) { return fmt::format("{:.3f}", seconds * 1e3); }

struct Column {
    std::size_t width;   // 0: the last column, not padded
    bool right;          // numbers are right-aligned
};

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> out(1);
    for (char ch : text) {
        if (ch == separator) out.emplace_back();
        else out.back() += ch;
    }
    return out;
}

/// One table row: each cell padded to its column's display width, two spaces between columns.
template <std::size_t N>
std::string table_row(const Column (&cols)[N], const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < N && i < cells.size(); ++i) {
        const std::string& c = cells[i];
        const std::size_t w = display_width(c);
        const std::string pad = cols[i].width > w ? std::string(cols[i].width - w, ' ') : std::string();
        if (i > 0) out += "  ";
        out += cols[i].width == 0 ? c : cols[i].right ? pad + c : c + pad;
    }
    return out;
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
    return out;
}

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
            if (s.not_analysed) line("  " + paint(red, T(Msg::sum_not_analysed, fmt::arg("n", s.not_analysed))));
        } else {
            line("  " + T(Msg::sum_replay, fmt::arg("frames", s.engine.frames), fmt::arg("tcp", s.engine.tcp_frames),
                          fmt::arg("ignored", s.engine.ignored)));
        }
        if (s.engine.truncated || s.engine.invalid)
            line("  " + T(Msg::sum_malformed, fmt::arg("truncated", s.engine.truncated), fmt::arg("invalid", s.engine.invalid)));
        // Tables by stream, columns aligned by display width (CJK characters take two).
        std::stable_sort(conn_rows_.begin(), conn_rows_.end(), [](const auto& x, const auto& y) { return x.stream < y.stream; });
        std::stable_sort(http_rows_.begin(), http_rows_.end(), [](const auto& x, const auto& y) { return x.stream < y.stream; });
        if (!conn_rows_.empty()) {
            static constexpr Column conn_columns[] = {{5, false}, {21, false}, {8, true}, {10, true}, {10, true},
                                                      {7, true},  {9, true},   {0, false}};
            line("");
            table_line(paint(bold, table_row(conn_columns, split(T(Msg::sum_conn_header), '|'))));
            for (const auto& r : conn_rows_)
                table_line(table_row(conn_columns, {"#" + std::to_string(r.stream), r.client, std::to_string(r.requests),
                                                     std::to_string(r.client_bytes), std::to_string(r.server_bytes),
                                                     std::to_string(r.packets),
                                        T(Msg::unit_s, fmt::arg("n", fmt::format("{:.3f}", r.duration))), r.closed}));
            if (conn_rows_dropped_) line("  " + T(Msg::sum_more_rows, fmt::arg("n", conn_rows_dropped_)));
        }
        if (!http_rows_.empty()) {
            static constexpr Column http_columns[] = {{5, false}, {40, false}, {6, true}, {10, true}, {8, true}, {0, false}};
            line("");
            table_line(paint(bold, table_row(http_columns, split(T(Msg::sum_http_header), '|'))));
            for (const auto& r : http_rows_) {
                const std::string req = display_width(r.request) > 40 ? cut_to_width(r.request, 39) + "…" : r.request;
                table_line(table_row(http_columns, {"#" + std::to_string(r.stream), req, std::to_string(r.status),
                                                     std::to_string(r.bytes), std::to_string(r.segments),
                                                     r.time ? duration_text(opt_.lang, *r.time) : std::string("-")}));
            }
            if (http_rows_dropped_) line("  " + T(Msg::sum_more_rows, fmt::arg("n", http_rows_dropped_)));
        }
        if (s.record_path && s.record_error)
            line("  " + paint(red, T(Msg::sum_record_failed, fmt::arg("path", *s.record_path),
                                     fmt::arg("error", *s.record_error), fmt::arg("packets", s.recorded))));
        else if (s.record_path)
            line("  " + T(Msg::sum_recorded, fmt::arg("packets", s.recorded), fmt::arg("path", *s.record_path)));
        if (s.record_path && s.recorded_without_comment)
            line("  " + T(Msg::sum_record_uncommented, fmt::arg("n", s.recorded_without_comment)));
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
    // Default output fits `columns`: longer lines are broken between words (or CJK characters).
    void line(const std::string& t) {
        if (opt_.brief || display_width(t) <= columns) {   // -q: one line each, never broken
            out_ << t << '\n';
            return;
        }
        for (const auto& l : wrap_text(t, columns, 0, 6)) out_ << l << '\n';
    }
    /// A row of a summary table: never wrapped (its columns are sized to fit).
    void table_line(const std::string& t) { out_ << "  " << t << '\n'; }
    void detail(const std::string& t) {
        if (opt_.brief) return;
        for (const auto& l : wrap_text(t, columns, 6, 8)) out_ << l << '\n';
    }
    [[nodiscard]] std::string prefix(const a::EventBase& e) const {
        return paint(dim, T(Msg::prefix, fmt::arg("stream", e.stream), fmt::arg("frame", fmt::format("{:>5}", e.frame)),
                            fmt::arg("time", fmt::format("{:>10.6f}", e.time))));
    }
    /// A teaching sentence in full the first time in a run; `brief` (if any) afterwards.
    void once(Msg full, const std::string& text, const std::string& brief = {}) {
        if (said_.insert(full).second) detail(text);
        else if (!brief.empty()) detail(brief);
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
            if (opt_.hex) {
                // Headers and the start of the payload; a 64 KB segment would be 4000 lines.
                const std::size_t shown = std::min(frame_bytes_.size(), hex_bytes_shown);
                for (const auto& h : hex_dump(std::span<const std::uint8_t>(frame_bytes_).first(shown))) line("  " + paint(dim, h));
                if (frame_bytes_.size() > shown)
                    line("  " + T(Msg::hex_more, fmt::arg("n", frame_bytes_.size() - shown), fmt::arg("shown", shown)));
            }
            return;
        }
        const auto& pa = e.analysis;
        std::string s = fmt::format("{} {} {:<12} seq {} ack {} len {} win {}", prefix(e), arrow(e.from),
                                    a::flags_to_string(e.flags), e.seq_rel, e.ack_rel, e.len, pa.window);
        if (pa.bytes_in_flight) s += " " + T(Msg::pkt_in_flight, fmt::arg("bytes", *pa.bytes_in_flight));
        if (pa.acks_frame)
            s += " (" + T(Msg::pkt_acks, fmt::arg("frame", pa.acks_frame), fmt::arg("ms", ms(pa.ack_rtt.value_or(0)))) + ")";
        if (!e.sack_rel.empty()) {
            s += " SACK";
            for (const auto& [le, re] : e.sack_rel) s += fmt::format(" {}-{}", le, re);
            if (pa.dsack) s += " (D-SACK)";
        }
        line(s);
        for (const auto& rule : pa.rules)
            detail(paint(yellow, "⚑ ") + T(Msg::pkt_flag, fmt::arg("flag", flag_label(opt_.lang, a::analysis_flag_index(rule.flag))),
                                           fmt::arg("rule", rule_text(opt_.lang, rule))));
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
        if (e.alongside) detail(T(Msg::parallel_note, fmt::arg("other", *e.alongside)));
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
            detail(join(opts, T(Msg::list_separator)));
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
        if (e.step == 3) once(Msg::hs_why_three, T(Msg::hs_why_three));
    }

    void explain_headers(const std::vector<a::HttpHeader>& headers, const std::vector<std::pair<std::string_view, Msg>>& wanted) {
        for (const auto& [name, msg] : wanted)
            for (const auto& h : headers)
                if (a::iequals(h.name, name)) {
                    Msg m = msg;
                    if (msg == Msg::hdr_connection_keep_alive && a::iequals(h.value, "close")) m = Msg::hdr_connection_close;
                    std::string value = h.value;
                    // Default output fits 100 columns: long values are shortened (-v shows them whole).
                    if (!opt_.verbose && value.size() > max_header_value) {
                        std::size_t cut = max_header_value - 1;
                        while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
                        value = value.substr(0, cut) + "…";
                    }
                    if (said_.insert(m).second) detail(fmt::format("{}: {}   {}", h.name, value, "← " + T(m)));
                    else detail(fmt::format("{}: {}", h.name, value));
                }
    }

    [[nodiscard]] std::string segment_text(const a::SegmentRef& g) const {
        return T(Msg::resp_segment, fmt::arg("frame", g.frame), fmt::arg("seq", g.seq_rel), fmt::arg("len", g.len),
                 fmt::arg("next", static_cast<std::uint64_t>(g.seq_rel) + g.len));
    }

    void render(const a::HttpRequest& e) {
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
                 fmt::arg("segments", e.segment_count)));
        if (e.pairing_stopped) detail(paint(yellow, T(Msg::req_pairing_stopped)));
        if (!e.segments.empty()) {
            const auto& first = e.segments.front();
            const std::uint64_t total = e.header_bytes + e.body_bytes;
            detail(T(Msg::req_next_seq, fmt::arg("next", first.seq_rel + total), fmt::arg("seq", first.seq_rel),
                     fmt::arg("len", total), fmt::arg("method", e.method)));
        }
        if (e.index > 0) detail(T(Msg::req_keepalive, fmt::arg("n", e.index + 1)));
        if (e.uri == "/favicon.ico") detail(T(Msg::req_favicon));
        if (e.busy_stream && e.busy_uri)
            detail(T(Msg::busy_note, fmt::arg("other", *e.busy_stream), fmt::arg("uri", *e.busy_uri)));
    }

    void render(const a::HttpResponse& e) {
        const std::uint64_t total = e.header_bytes + e.body_bytes;
        HttpRow row;
        row.stream = e.stream;
        row.request = (e.request_method ? *e.request_method + " " : std::string()) + e.request_uri.value_or("?");
        row.status = e.status;
        row.bytes = total;
        row.segments = e.segment_count;
        row.time = e.time_to_first_byte;
        if (http_rows_.size() < summary_rows_kept) http_rows_.push_back(row);
        else ++http_rows_dropped_;
        if (opt_.brief) {
            line(T(Msg::brief_exchange, fmt::arg("stream", e.stream), fmt::arg("method", e.request_method.value_or("?")),
                   fmt::arg("uri", e.request_uri.value_or("?")), fmt::arg("status", e.status), fmt::arg("reason", e.reason),
                   fmt::arg("bytes", total), fmt::arg("segments", e.segment_count),
                   fmt::arg("ms", e.time_since_request ? ms(*e.time_since_request) : std::string("-"))));
            return;
        }
        const char* colour = e.status >= 400 ? red : e.status >= 300 ? yellow : blue;
        std::string answers = e.request_uri
                                  ? T(Msg::resp_answers, fmt::arg("method", e.request_method.value_or("")),
                                      fmt::arg("uri", *e.request_uri), fmt::arg("frame", e.request_frame),
                                      fmt::arg("first", e.time_to_first_byte ? ms(*e.time_to_first_byte) : std::string("-")),
                                      fmt::arg("last", ms(e.time_since_request.value_or(0))))
                                  : T(Msg::resp_no_request);
        line(fmt::format("{} {} {} {} {}", prefix(e), paint(colour, T(Msg::resp_title)), e.version,
                         paint(bold, std::to_string(e.status)), e.reason));
        detail(answers);
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
        if (e.status == 206) {
            once(Msg::resp_206, T(Msg::resp_206));
            if (e.range_first && e.range_last && e.range_complete) {
                const auto args = std::make_tuple(*e.range_first, *e.range_last, *e.range_complete);
                detail(T(e.range_whole_file ? Msg::resp_206_whole : Msg::resp_206_part,
                         fmt::arg("first", std::get<0>(args)), fmt::arg("last", std::get<1>(args)),
                         fmt::arg("complete", std::get<2>(args)), fmt::arg("n", std::get<1>(args) - std::get<0>(args) + 1)));
            }
        }
        if (e.status == 304) once(Msg::resp_304, T(Msg::resp_304));
        if (e.status == 404) once(Msg::resp_404, T(Msg::resp_404));
        if (e.status == 404 && e.request_uri == "/favicon.ico") detail(T(Msg::resp_favicon_404));
        detail(T(Msg::resp_carried, fmt::arg("total", total), fmt::arg("header", e.header_bytes),
                 fmt::arg("body", e.body_bytes), fmt::arg("segments", e.segment_count)));
        const std::size_t shown = std::min(e.segments.size(), segments_shown);
        for (std::size_t i = 0; i < shown; ++i) detail("  " + segment_text(e.segments[i]));
        if (e.segment_count > shown) detail("  " + T(Msg::resp_more_segments, fmt::arg("n", e.segment_count - shown)));
        if (e.segment_count > 1) {
            once(Msg::resp_split, T(Msg::resp_split));
            std::vector<std::string> parts;
            if (e.ended_by_mss) parts.push_back(T(Msg::split_mss, fmt::arg("n", e.ended_by_mss)));
            if (e.ended_by_window) parts.push_back(T(Msg::split_window, fmt::arg("n", e.ended_by_window)));
            if (e.ended_by_write) parts.push_back(T(Msg::split_write, fmt::arg("n", e.ended_by_write)));
            const std::size_t known = std::size_t{e.ended_by_mss} + e.ended_by_window + e.ended_by_write;
            if (e.segment_count > known) parts.push_back(T(Msg::split_other, fmt::arg("n", e.segment_count - known)));
            detail(T(Msg::split_reasons, fmt::arg("parts", join(parts, T(Msg::list_separator)))));
        }
        const a::SegmentSizing& z = e.sizing;
        if (z.mss_known && !e.segments.empty()) {
            const std::string opts = z.option_bytes ? T(Msg::resp_sizing_opts, fmt::arg("opts", z.option_bytes),
                                                         fmt::arg("max", z.max_payload))
                                                    : std::string();
            // The arithmetic in full once per run for each MSS and options; briefly afterwards.
            if (sizing_said_.insert({z.mss, z.option_bytes}).second)
                detail(T(Msg::resp_sizing, fmt::arg("mss", z.mss), fmt::arg("packet", z.largest_ip_packet),
                         fmt::arg("iph", z.ip_header), fmt::arg("v", z.ipv6 ? 6 : 4), fmt::arg("opts", opts),
                         fmt::arg("largest", z.largest), fmt::arg("frame", z.largest_frame)));
            else
                detail(T(Msg::resp_sizing_brief, fmt::arg("max", z.max_payload), fmt::arg("largest", z.largest),
                         fmt::arg("frame", z.largest_frame)));
            if (z.largest > z.max_payload)
                detail(T(Msg::resp_over_mss, fmt::arg("frame", z.largest_frame), fmt::arg("largest", z.largest),
                         fmt::arg("max", z.max_payload)));
        }
        if (total > z.ethernet_payload) {
            const std::string opts = z.option_bytes ? T(Msg::resp_ethernet_opts, fmt::arg("opts", z.option_bytes),
                                                         fmt::arg("epay", z.ethernet_payload))
                                                    : std::string();
            detail(T(Msg::resp_ethernet, fmt::arg("emss", z.ethernet_mss), fmt::arg("v", z.ipv6 ? 6 : 4),
                     fmt::arg("opts", opts), fmt::arg("total", total), fmt::arg("n", z.ethernet_segments),
                     fmt::arg("epay", z.ethernet_payload)));
        }
        if (e.psh_segments) {
            std::uint64_t last = 0;
            for (const auto& g : e.segments)
                if (g.flags & a::tcp_flag::psh) last = g.frame;
            once(Msg::resp_psh,
                 T(Msg::resp_psh, fmt::arg("n", e.psh_segments), fmt::arg("segments", e.segment_count),
                   fmt::arg("frame", last)),
                 T(Msg::resp_psh_brief, fmt::arg("n", e.psh_segments), fmt::arg("segments", e.segment_count),
                   fmt::arg("frame", last)));
        }
        if (!e.complete) {
            if (e.cut_by_reset && e.bytes_missing)
                detail(paint(red, T(Msg::resp_cut_by_reset, fmt::arg("missing", *e.bytes_missing))));
            else
                detail(paint(red, T(Msg::resp_incomplete)));
        }
    }

    void render(const a::ResponseAcked& e) {
        if (opt_.brief) return;
        std::string frames;
        for (auto f : e.ack_frames) frames += (frames.empty() ? "" : T(Msg::item_separator)) + std::to_string(f);
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
        if (e.segment_count > shown) detail("  " + T(Msg::resp_more_segments, fmt::arg("n", e.segment_count - shown)));
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
        if (opt_.brief) return;
        Msg what = Msg::td_ack;
        if (e.fin && e.acks_fin) what = Msg::td_fin_and_ack;
        else if (e.fin && e.len) what = Msg::td_fin_on_data;
        else if (e.fin) what = Msg::td_fin;
        line(fmt::format("{} {} {:<12} {}  seq {} ack {}  {}", prefix(e),
                         paint(magenta, T(Msg::td_title, fmt::arg("step", e.step))), a::flags_to_string(e.flags),
                         arrow(e.from), e.seq_rel, e.ack_rel, T(what, fmt::arg("len", e.len))));
        detail(states(e.client_state, e.server_state));
        const std::string me = side(e.from);
        const std::string other = side(e.from == a::Direction::client_to_server ? a::Direction::server_to_client
                                                                               : a::Direction::client_to_server);
        if (e.step == 1 && e.fin) {
            detail(T(e.crossed ? Msg::td_first_crossed : Msg::td_first, fmt::arg("side", me), fmt::arg("other", other)));
            if (e.idle_close && e.idle_before && e.keep_alive_timeout)
                detail(T(Msg::td_idle_close, fmt::arg("idle", fmt::format("{:.2f}", *e.idle_before)),
                         fmt::arg("timeout", fmt::format("{:g}", *e.keep_alive_timeout))));
            else if (e.idle_before && *e.idle_before >= 1.0)
                detail(T(Msg::td_idle, fmt::arg("idle", fmt::format("{:.2f}", *e.idle_before))));
            once(Msg::td_why_four, T(Msg::td_why_four));
        }
        if (e.fin && e.crossed && e.step > 1)
            detail(T(Msg::td_crossed, fmt::arg("other", other), fmt::arg("ack", e.ack_rel),
                     fmt::arg("fin_ack", e.ack_rel + 1)));
        if (e.merged_with_ack) detail(T(Msg::td_three, fmt::arg("side", me), fmt::arg("other", other)));
        if (e.fin && !e.acks_fin && !e.crossed && e.after_peer_fin)
            detail(T(Msg::td_four, fmt::arg("side", me), fmt::arg("other", other),
                     fmt::arg("s", duration_text(opt_.lang, *e.after_peer_fin))));
        if (e.enters_time_wait) {
            const std::string who = side(*e.enters_time_wait);
            once(Msg::td_time_wait, T(Msg::td_time_wait, fmt::arg("side", who)),
                 T(Msg::td_time_wait_brief, fmt::arg("side", who)));
        }
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
        line(fmt::format("{} {} {}", prefix(e), paint(red, T(Msg::gap_title)),
                         T(e.reason == a::GapReason::buffer_full ? Msg::gap_buffer_full : Msg::gap_line,
                           fmt::arg("bytes", e.bytes), fmt::arg("side", side(e.from)), fmt::arg("seq", e.seq_rel))));
    }

    void render(const a::HttpParseError& e) {
        if (opt_.brief) return;
        line(fmt::format("{} {} {}", prefix(e), paint(yellow, "HTTP?"),
                         T(Msg::not_http, fmt::arg("side", side(e.from)), fmt::arg("reason", e.reason))));
    }

    void render(const a::ConnectionEnd& e) {
        open_.erase(e.stream);
        conns_.erase(e.stream);
        const std::string how = close_how_text(opt_.lang, e);
        const std::string closed = close_cell_text(opt_.lang, e);
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
        // No space after a full-width colon (Chinese punctuation carries its own).
        const std::string title = T(Msg::end_title, fmt::arg("stream", e.stream));
        const bool full_width = title.size() >= 3 && title.compare(title.size() - 3, 3, "：") == 0;
        line(fmt::format("{} {}{}{}", prefix(e), paint(bold, title), full_width ? "" : " ",
                         T(Msg::end_line, fmt::arg("how", how), fmt::arg("requests", e.requests),
                           fmt::arg("responses", e.responses), fmt::arg("cp", e.client_to_server.packets),
                           fmt::arg("cb", e.client_to_server.bytes), fmt::arg("sp", e.server_to_client.packets),
                           fmt::arg("sb", e.server_to_client.bytes), fmt::arg("duration", fmt::format("{:.3f}", e.duration)),
                           fmt::arg("cs", state(e.client_state)), fmt::arg("ss", state(e.server_state)))));
        if (e.preconnect && e.alongside) detail(T(Msg::end_preconnect, fmt::arg("other", *e.alongside)));
        else if (e.unused && e.handshake_seen) detail(T(Msg::end_unused));
        const ChecksumText chk = checksum_text(opt_.lang, e.checksums, e.client.address.v6);
        if (!chk.line.empty()) {
            detail(chk.line);
            for (const auto& [key, text] : chk.explanations) once(key, text);
        }
        detail(T(Msg::end_stats, fmt::arg("completeness", e.completeness), fmt::arg("state", e.conn_state),
                 fmt::arg("history", e.history),
                 fmt::arg("rtt", e.initial_rtt ? T(Msg::end_rtt_part, fmt::arg("ms", ms(*e.initial_rtt))) : std::string())));
        std::string flags;
        for (int i = 0; i < a::analysis_flag_count; ++i) {
            const auto n = e.analysis_counts[static_cast<std::size_t>(i)];
            if (n)
                flags += (flags.empty() ? std::string() : T(Msg::flag_separator)) +
                         T(Msg::flag_count, fmt::arg("n", n), fmt::arg("flag", flag_label(opt_.lang, i)));
        }
        if (!flags.empty()) detail(T(Msg::end_flags, fmt::arg("flags", flags)));
    }

    std::ostream& out_;
    TextOptions opt_;
    std::map<std::uint32_t, ConnInfo> conns_;
    std::set<std::uint32_t> open_;
    std::set<Msg> said_;
    std::set<std::pair<std::uint32_t, std::uint32_t>> sizing_said_;   // (MSS, option bytes) explained   // teaching sentences already said in full this run
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
