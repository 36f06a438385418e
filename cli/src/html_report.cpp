// The HTML report: one self-contained page (inline CSS, inline SVG, a few lines of inline script
// that open a packet's details when its arrow is clicked; nothing is loaded from anywhere) that a
// student can open offline or paste into a lab report. Per connection: a ladder (sequence) diagram
// with one lane per role ("client :52126", "labtool :3000"; never one lane for 127.0.0.1), one
// arrow per packet labelled with its flags and relative numbers, the TCP state each side enters
// written beside its lane; then the HTTP exchanges, each side's state timeline and every drawn
// packet's fields in <details>. All text comes from the catalogues (messages.cpp) and every string
// from the capture is HTML-escaped (and invalid UTF-8 / control bytes shown as \xNN).
#include "html_report.hpp"

#include "explain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace labtool::cli {
namespace {

namespace a = labtool::analysis;

// Bounds: a connection with more than `full_limit` packets draws the first `head_drawn` and the
// last `tail_drawn` arrows; only the first `max_ladders` connections get a section; the table
// lists at most `max_table_rows` connections.
constexpr std::size_t full_limit = 300;
constexpr std::size_t head_drawn = 150;
constexpr std::size_t tail_drawn = 50;
constexpr std::size_t tail_kept = full_limit - head_drawn;   // so that ≤ full_limit packets are all kept
constexpr std::size_t max_ladders = 64;
constexpr std::size_t max_table_rows = 2000;
constexpr std::size_t max_notes = 12;
constexpr std::size_t max_exchanges = 500;                   // per connection; the rest are counted
constexpr std::size_t max_marks = 256;                       // state changes kept per connection
constexpr std::size_t max_comments = 10000;
constexpr std::size_t label_chars = 64;                      // longest URI / status text in the diagram

// Geometry of the ladder diagram (px).
constexpr int svg_width = 940;
constexpr int client_x = 270;
constexpr int server_x = 800;
constexpr int lane_box_w = 210;
constexpr int row_h = 34;
constexpr int annot_h = 16;
constexpr int top_y = 96;

/// Valid UTF-8 kept, control characters and invalid bytes shown as \xNN.
std::string clean(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto cont = [&](std::size_t i) { return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; };
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02X}", c);
            else out += static_cast<char>(c);
            ++i;
            continue;
        }
        std::size_t n = 0;
        if (c >= 0xC2 && c <= 0xDF) n = 2;
        else if (c >= 0xE0 && c <= 0xEF) n = 3;
        else if (c >= 0xF0 && c <= 0xF4) n = 4;
        bool ok = n != 0;
        for (std::size_t k = 1; ok && k < n; ++k) ok = cont(i + k);
        if (ok && n >= 3) {
            const auto c1 = static_cast<unsigned char>(s[i + 1]);
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
                ok = false;
        }
        if (!ok) {
            out += fmt::format("\\x{:02X}", c);
            ++i;
            continue;
        }
        out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

/// Text for HTML (element content and attribute values alike).
std::string esc(std::string_view raw) {
    const std::string s = clean(raw);
    std::string out;
    out.reserve(s.size() + 16);
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

/// At most `max` code points of already-clean text, with "…" when cut.
std::string shorten(const std::string& s, std::size_t max) {
    std::size_t cps = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
        if (cps == max) return s.substr(0, i) + "…";
        ++cps;
    }
    return s;
}

std::optional<std::string> header(const std::vector<a::HttpHeader>& headers, std::string_view name) {
    for (const auto& h : headers)
        if (a::iequals(h.name, name)) return h.value;
    return std::nullopt;
}

std::string state(a::TcpState s) { return std::string(a::state_name(s)); }

/// The colour class of a packet's arrow: RST > SYN > FIN > data > pure ACK.
const char* packet_class(const a::PacketInfo& p) {
    if (p.flags & a::tcp_flag::rst) return "rst";
    if (p.flags & a::tcp_flag::syn) return "syn";
    if (p.flags & a::tcp_flag::fin) return "fin";
    if (p.len > 0) return "data";
    return "ack";
}

int flag_index(a::AnalysisFlag flag) {
    const auto bit = static_cast<std::uint32_t>(flag);
    int index = 0;
    while (index < a::analysis_flag_count && (1u << index) != bit) ++index;
    return index;
}

struct StateMark {
    std::uint64_t frame = 0;
    double time = 0;
    a::TcpState client = a::TcpState::closed;
    a::TcpState server = a::TcpState::closed;
};

struct Annotation {
    std::string text;     // plain (escaped when written)
    std::string cls;      // "req", "ok", "redir", "err"
};

struct Exchange {
    std::uint32_t index = 0;
    bool has_request = false;
    std::string request;             // "GET /audio.mp3 HTTP/1.1"
    std::uint64_t request_frame = 0;
    bool has_response = false;
    int status = 0;
    std::string reason;
    std::uint64_t bytes = 0;
    std::size_t segments = 0;
    std::uint64_t first_frame = 0;
    std::uint64_t last_frame = 0;
    std::optional<double> time;
    std::optional<std::string> content_type;
    bool complete = true;
    std::vector<a::HttpHeader> request_headers;
    std::vector<a::HttpHeader> response_headers;
    std::string status_line;          // "HTTP/1.1 200 OK"
};

struct Conn {
    std::uint32_t stream = 0;
    bool opened = false;
    bool drawn = false;              // gets a section with a diagram
    a::Endpoint client;
    a::Endpoint server;
    bool handshake_seen = true;
    std::uint64_t packets = 0;
    std::vector<a::PacketInfo> head;         // the first head_drawn packets
    std::deque<a::PacketInfo> tail;          // the last tail_kept after those
    std::vector<StateMark> marks;
    std::vector<Exchange> exchanges;
    std::uint64_t exchanges_dropped = 0;
    std::map<std::uint64_t, std::vector<Annotation>> annotations;
    std::optional<a::ConnectionEnd> end;
    std::vector<std::string> notes;
    std::optional<std::string> server_product;   // from its responses' Server header
};

const char* const css = R"CSS(
:root { color-scheme: light; }
body { background: #fff; color: #1f2328; margin: 24px auto; max-width: 1000px; padding: 0 16px;
  font: 15px/1.5 "Noto Sans", "DejaVu Sans", "Noto Sans CJK SC", "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC", system-ui, sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-top: 12px; border-top: 2px solid #d0d7de; }
h3 { font-size: 16px; margin: 20px 0 6px; }
p { margin: 4px 0; }
.overview { font-size: 16px; }
.muted, .hint { color: #57606a; font-size: 13px; }
.warn { color: #cf222e; }
code, .mono, td.num { font-family: "DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", Consolas, "Noto Sans Mono CJK SC", "Microsoft YaHei", "PingFang SC", monospace; font-size: 13px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13.5px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num { text-align: right; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.ladder { overflow-x: auto; margin: 6px 0; }
.ladder svg { display: block; max-width: 100%; height: auto; background: #fff; }
.legend span { display: inline-block; margin-right: 14px; font-size: 13px; }
.legend i { display: inline-block; width: 22px; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: 5px; }
.c-syn { color: #1a7f37; } .c-fin { color: #8250df; } .c-rst { color: #cf222e; } .c-data { color: #0969da; } .c-ack { color: #57606a; }
.timeline { display: flex; align-items: baseline; margin: 6px 0; }
.timeline .who { flex: 0 0 160px; font-weight: 600; }
.timeline .chips { flex: 1; display: flex; flex-wrap: wrap; align-items: center; row-gap: 4px; }
td.frames, td.num { white-space: nowrap; }
.chip { display: inline-block; border: 1px solid #d4a72c; background: #fff8c5; border-radius: 4px; padding: 0 6px; margin: 2px 0;
  font-family: "DejaVu Sans Mono", "Noto Sans Mono", "Noto Sans Mono CJK SC", "Microsoft YaHei", "PingFang SC", monospace; font-size: 12.5px; }
.chip small { color: #57606a; }
.sep { color: #8c959f; margin: 0 4px; }
details { border: 1px solid #d0d7de; border-radius: 4px; margin: 3px 0; padding: 0 8px; }
details[open] { background: #f6f8fa; }
details:target { outline: 2px solid #0969da; }
summary { cursor: pointer; white-space: pre; overflow: hidden; text-overflow: ellipsis; font-family: "DejaVu Sans Mono", "Noto Sans Mono", "Noto Sans Mono CJK SC", "Microsoft YaHei", "PingFang SC", monospace; font-size: 12.5px; padding: 2px 0; }
details table { background: #fff; }
.notes li { font-size: 14px; }
footer { margin-top: 32px; color: #57606a; font-size: 12.5px; border-top: 1px solid #d0d7de; padding-top: 8px; }
svg text { font-family: "DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", monospace; }
svg .lane-name { font-family: "Noto Sans", "DejaVu Sans", "Noto Sans CJK SC", "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC", sans-serif; font-weight: 700; font-size: 15px; }
svg .lane-addr { font-size: 11px; fill: #57606a; }
svg .lane-box { fill: #f6f8fa; stroke: #57606a; stroke-width: 1.2; }
svg .lifeline { stroke: #8c959f; stroke-width: 2; }
svg .lifeline.gap { stroke-dasharray: 3 5; }
svg .when { font-size: 11px; fill: #57606a; }
svg .label { font-size: 12px; }
svg .annot { font-family: "Noto Sans", "DejaVu Sans", "Noto Sans CJK SC", "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC", sans-serif; font-size: 12.5px; font-weight: 700; }
svg .annot.req { fill: #0550ae; } svg .annot.ok { fill: #116329; } svg .annot.redir { fill: #953800; } svg .annot.err { fill: #a40e26; }
svg .flagged { fill: #bc4c00; font-weight: 700; }
svg .st rect { fill: #fff8c5; stroke: #d4a72c; }
svg .st text { font-size: 11.5px; font-weight: 700; fill: #1f2328; }
svg .st0 text { fill: #57606a; font-weight: 400; }
svg .st0 rect { fill: #fff; stroke: #d0d7de; }
svg .omitted text { font-size: 13px; fill: #57606a; font-style: italic; }
svg .arrow line { stroke-width: 1.8; }
svg .syn line { stroke: #1a7f37; } svg .syn .label { fill: #1a7f37; }
svg .fin line { stroke: #8250df; } svg .fin .label { fill: #8250df; }
svg .rst line { stroke: #cf222e; } svg .rst .label { fill: #cf222e; }
svg .data line { stroke: #0969da; } svg .data .label { fill: #0550ae; }
svg .ack line { stroke: #6e7781; } svg .ack .label { fill: #57606a; }
svg a:hover .label { text-decoration: underline; }
@media print { body { margin: 0; max-width: none; } h2 { break-before: auto; } .ladder { overflow: visible; } }
)CSS";

// Opens the <details> of a packet when its arrow (a link to #p-stream-frame) is clicked.
const char* const script = R"JS(
(function () {
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var d = id && document.getElementById(id);
    if (d && d.tagName === 'DETAILS') { d.open = true; }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
})();
)JS";

class HtmlReport final : public Renderer {
public:
    HtmlReport(std::ostream& out, Lang lang, std::string title) : out_(out), lang_(lang), title_(std::move(title)) {}

    void on_event(const a::Event& event) override {
        std::visit([&](const auto& e) { collect(e); }, event);
    }

    void on_comment(std::uint64_t frame, const std::string& comment) override {
        if (frame == 0) {
            if (file_comments_.size() < max_notes) file_comments_.push_back(comment);
        } else if (comments_.size() < max_comments) {
            comments_[frame] = comment;
        }
    }

    void flush() override { out_.flush(); }

    void on_summary(const RunSummary& s) override {
        std::string h;
        h.reserve(1 << 16);
        write_document(h, s);
        out_ << h;
        out_.flush();
    }

private:
    template <typename... Args>
    std::string T(Msg m, Args&&... args) const {
        return format_msg(lang_, m, std::forward<Args>(args)...);
    }
    /// The catalogue text, escaped for HTML.
    template <typename... Args>
    std::string H(Msg m, Args&&... args) const {
        return esc(T(m, std::forward<Args>(args)...));
    }
    [[nodiscard]] std::string side(a::Direction d) const { return side_text(lang_, d); }

    Conn& conn(std::uint32_t stream) {
        auto it = conns_.find(stream);
        if (it != conns_.end()) return it->second;
        // Past the table's rows a connection is only counted: a scratch entry takes its events
        // (memory stays bounded for 100 000 connections).
        if (conns_.size() >= max_table_rows) {
            if (!overflow_seen_ || stream > highest_overflow_) {
                overflow_seen_ = true;
                highest_overflow_ = stream;
                ++overflow_;
            }
            scratch_ = Conn{};
            scratch_.stream = stream;
            return scratch_;
        }
        Conn& c = conns_[stream];
        c.stream = stream;
        c.drawn = drawn_count_ < max_ladders;
        if (c.drawn) ++drawn_count_;
        return c;
    }

    void note(Conn& c, std::string text) {
        if (c.notes.size() < max_notes) c.notes.push_back(std::move(text));
    }

    /// The exchange with this index (a response follows its request closely: searched from the
    /// back); nullptr when the connection already has max_exchanges.
    static Exchange* exchange(Conn& c, std::uint32_t index) {
        for (auto it = c.exchanges.rbegin(); it != c.exchanges.rend(); ++it)
            if (it->index == index) return &*it;
        if (c.exchanges.size() >= max_exchanges) return nullptr;
        c.exchanges.push_back({});
        c.exchanges.back().index = index;
        return &c.exchanges.back();
    }

    static void mark(Conn& c, StateMark m) {
        if (c.drawn && c.marks.size() < max_marks) c.marks.push_back(m);
    }

    void collect(const a::PacketInfo& e) {
        Conn& c = conn(e.stream);
        ++c.packets;
        if (!c.drawn) return;
        if (c.head.size() < head_drawn) {
            c.head.push_back(e);
            return;
        }
        c.tail.push_back(e);
        if (c.tail.size() > tail_kept) c.tail.pop_front();
    }

    void collect(const a::ConnectionOpened& e) {
        Conn& c = conn(e.stream);
        c.opened = true;
        c.client = e.client;
        c.server = e.server;
        c.handshake_seen = e.handshake_seen;
    }

    void collect(const a::Handshake& e) {
        Conn& c = conn(e.stream);
        mark(c, {e.frame, e.time, e.client_state, e.server_state});
    }

    void collect(const a::Teardown& e) {
        Conn& c = conn(e.stream);
        mark(c, {e.frame, e.time, e.client_state, e.server_state});
        if (e.after_end && c.drawn) note(c, late_teardown_text(lang_, e));
    }

    void collect(const a::Reset& e) {
        Conn& c = conn(e.stream);
        if (!c.drawn) return;
        if (e.after_end) {
            note(c, T(Msg::rst_late, fmt::arg("side", side(e.from))));
            return;
        }
        mark(c, {e.frame, e.time, a::TcpState::closed, a::TcpState::closed});
        note(c, T(Msg::rst_abort, fmt::arg("side", side(e.from)),
                  fmt::arg("states", state(e.client_state_before) + " · " + state(e.server_state_before))));
    }

    void collect(const a::HttpRequest& e) {
        Conn& c = conn(e.stream);
        if (!c.drawn) return;
        Exchange* found = exchange(c, e.index);
        if (found == nullptr) {
            ++c.exchanges_dropped;
            return;
        }
        Exchange& x = *found;
        x.has_request = true;
        x.request = e.method + " " + e.uri + " " + e.version;
        x.request_frame = e.segments.empty() ? e.frame : e.segments.front().frame;
        x.request_headers = e.headers;
        c.annotations[x.request_frame].push_back({"→ " + e.method + " " + shorten(clean(e.uri), label_chars), "req"});
    }

    void collect(const a::HttpResponse& e) {
        Conn& c = conn(e.stream);
        if (!c.server_product) {
            if (const auto server = header(e.headers, "Server"); server && !server->empty()) {
                std::string product = server->substr(0, server->find_first_of("/ "));
                if (!product.empty()) c.server_product = shorten(clean(product), 20);
            }
        }
        if (!c.drawn) return;
        Exchange* found = exchange(c, e.index);
        if (found == nullptr) {
            if (e.request_frame == 0) ++c.exchanges_dropped;   // else counted with its request
            return;
        }
        Exchange& x = *found;
        x.has_response = true;
        x.status = e.status;
        x.reason = e.reason;
        x.bytes = e.header_bytes + e.body_bytes;
        x.segments = e.segment_count;
        x.first_frame = e.segments.empty() ? e.frame : e.segments.front().frame;
        x.last_frame = e.frame;
        x.time = e.time_since_request;
        x.content_type = e.content_type;
        x.complete = e.complete;
        x.response_headers = e.headers;
        x.status_line = e.version + " " + std::to_string(e.status) + " " + e.reason;
        if (!x.has_request && e.request_uri)
            x.request = e.request_method.value_or("?") + " " + *e.request_uri;
        const std::string cls = e.status >= 400 ? "err" : e.status >= 300 ? "redir" : "ok";
        c.annotations[x.first_frame].push_back(
            {"← " + std::to_string(e.status) + " " + shorten(clean(e.reason), 32) + " · " + std::to_string(x.bytes) + " B", cls});
    }

    void collect(const a::ResponseAcked&) {}

    void collect(const a::StreamGap& e) {
        Conn& c = conn(e.stream);
        note(c, T(Msg::gap_line, fmt::arg("bytes", e.bytes), fmt::arg("side", side(e.from)), fmt::arg("seq", e.seq_rel)));
    }

    void collect(const a::HttpParseError& e) {
        Conn& c = conn(e.stream);
        note(c, T(Msg::not_http, fmt::arg("side", side(e.from)), fmt::arg("reason", e.reason)));
    }

    void collect(const a::ConnectionEnd& e) {
        Conn& c = conn(e.stream);
        if (!c.opened) {
            c.client = e.client;
            c.server = e.server;
            c.opened = true;
        }
        c.end = e;
    }

    // ---- writing ----

    /// "client :52126", "labtool :3000": named as in the terminal ladder (explain.hpp); the
    /// server's lane by its Server header when one of its responses had one.
    [[nodiscard]] std::string lane_name(const Conn& c, bool client) const {
        if (client) return cli::lane_name(lang_, a::Direction::client_to_server, c.client.port, "");
        std::optional<std::string> product = c.server_product;
        if (!product)
            for (const auto& [stream, o] : conns_)
                if (o.server_product && o.server.port == c.server.port && o.server.address == c.server.address) {
                    product = o.server_product;
                    break;
                }
        return cli::lane_name(lang_, a::Direction::server_to_client, c.server.port, product.value_or(T(Msg::side_server)));
    }

    [[nodiscard]] std::string closed_text(const Conn& c) const {
        return c.end ? close_cell_text(lang_, *c.end) : T(Msg::close_open);
    }

    void write_document(std::string& h, const RunSummary& s) const {
        const double duration = s.engine.frames ? s.engine.last_time - s.engine.first_time : 0.0;
        const std::string heading = T(Msg::rep_title, fmt::arg("title", title_));
        h += "<!DOCTYPE html>\n<html lang=\"";
        h += lang_ == Lang::zh ? "zh-CN" : "en";
        h += "\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
        h += "<meta name=\"generator\" content=\"labtool " LABTOOL_VERSION "\">\n";
        h += "<title>" + esc(heading) + "</title>\n<style>" + std::string(css) + "</style>\n</head>\n<body>\n";
        h += "<header>\n<h1>" + esc(heading) + "</h1>\n";
        h += "<p class=\"overview\">" +
             H(Msg::rep_overview, fmt::arg("packets", s.engine.tcp_frames), fmt::arg("connections", s.engine.connections),
               fmt::arg("requests", s.engine.requests), fmt::arg("responses", s.engine.responses),
               fmt::arg("bytes", s.engine.payload_bytes), fmt::arg("duration", fmt::format("{:.3f}", duration))) +
             "</p>\n";
        if (s.live) {
            h += "<p class=\"muted\">" + H(Msg::sum_live, fmt::arg("captured", s.captured), fmt::arg("dropped", s.dropped));
            if (s.dropped) h += " <span class=\"warn\">" + H(Msg::sum_dropped) + "</span>";
            h += "</p>\n";
        }
        for (const auto& fc : file_comments_) h += "<p class=\"muted\">" + H(Msg::comment_file, fmt::arg("text", fc)) + "</p>\n";
        if (s.warning) h += "<p class=\"warn\">" + H(Msg::sum_warning, fmt::arg("text", *s.warning)) + "</p>\n";
        h += "</header>\n";

        write_connection_table(h);
        for (const auto& [stream, c] : conns_)
            if (c.drawn) write_connection(h, c);
        if (conns_.size() + overflow_ > drawn_count_)
            h += "<p class=\"muted\">" + H(Msg::rep_more_connections, fmt::arg("n", conns_.size() + overflow_ - drawn_count_)) + "</p>\n";
        h += "<footer>" + H(Msg::rep_footer, fmt::arg("version", LABTOOL_VERSION)) + "</footer>\n";
        h += "<script>" + std::string(script) + "</script>\n</body>\n</html>\n";
    }

    void write_connection_table(std::string& h) const {
        h += "<section id=\"connections\">\n<h2>" + H(Msg::rep_connections) + "</h2>\n";
        if (conns_.empty()) {
            h += "<p class=\"muted\">" + H(Msg::rep_no_connections) + "</p>\n</section>\n";
            return;
        }
        h += "<table class=\"conns\">\n<tr><th>#</th><th>" + H(Msg::rep_col_client) + "</th><th>" + H(Msg::rep_col_server) +
             "</th><th>" + H(Msg::rep_col_requests) + "</th><th>" + H(Msg::rep_col_packets) + "</th><th>" +
             H(Msg::rep_col_bytes_c2s) + "</th><th>" + H(Msg::rep_col_bytes_s2c) + "</th><th>" + H(Msg::rep_col_duration) +
             "</th><th>" + H(Msg::rep_col_closed) + "</th></tr>\n";
        std::size_t rows = 0;
        for (const auto& [stream, c] : conns_) {
            if (rows++ == max_table_rows) break;
            const std::string id = c.drawn ? "<a href=\"#conn-" + std::to_string(stream) + "\">#" + std::to_string(stream) + "</a>"
                                           : "#" + std::to_string(stream);
            h += "<tr><td>" + id + "</td><td class=\"mono\">" + esc(a::to_string(c.client)) + "</td><td class=\"mono\">" +
                 esc(a::to_string(c.server)) + "</td>";
            if (c.end) {
                h += fmt::format("<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                                 "<td class=\"num\">{:.3f} s</td>",
                                 c.end->requests, c.packets, c.end->client_to_server.bytes, c.end->server_to_client.bytes,
                                 c.end->duration);
            } else {
                h += fmt::format("<td class=\"num\">-</td><td class=\"num\">{}</td><td class=\"num\">-</td><td class=\"num\">-</td>"
                                 "<td class=\"num\">-</td>",
                                 c.packets);
            }
            h += "<td>" + esc(closed_text(c)) + "</td></tr>\n";
        }
        h += "</table>\n";
        if (overflow_ > 0) h += "<p class=\"muted\">" + H(Msg::rep_more_connections, fmt::arg("n", overflow_)) + "</p>\n";
        h += "</section>\n";
    }

    void write_connection(std::string& h, const Conn& c) const {
        h += "<section class=\"conn\" id=\"conn-" + std::to_string(c.stream) + "\">\n";
        h += "<h2>" + H(Msg::conn_opened, fmt::arg("stream", c.stream), fmt::arg("client", a::to_string(c.client)),
                        fmt::arg("server", a::to_string(c.server))) + "</h2>\n";
        // How it went, in the catalogue's words.
        std::vector<std::string> notes;
        if (!c.handshake_seen) notes.push_back(T(Msg::conn_midstream));
        if (c.end) {
            notes.push_back(T(Msg::end_line, fmt::arg("how", close_how_text(lang_, *c.end)), fmt::arg("requests", c.end->requests),
                              fmt::arg("responses", c.end->responses), fmt::arg("cp", c.end->client_to_server.packets),
                              fmt::arg("cb", c.end->client_to_server.bytes), fmt::arg("sp", c.end->server_to_client.packets),
                              fmt::arg("sb", c.end->server_to_client.bytes),
                              fmt::arg("duration", fmt::format("{:.3f}", c.end->duration)),
                              fmt::arg("cs", state(c.end->client_state)), fmt::arg("ss", state(c.end->server_state))));
            if (auto pattern = close_pattern_text(lang_, *c.end)) notes.push_back(*pattern);
            for (const auto d : {a::Direction::client_to_server, a::Direction::server_to_client})
                if ((d == a::Direction::client_to_server ? c.end->client_state : c.end->server_state) == a::TcpState::time_wait)
                    notes.push_back(T(Msg::td_time_wait, fmt::arg("side", side(d))));
            if (c.end->preconnect && c.end->alongside) notes.push_back(T(Msg::end_preconnect, fmt::arg("other", *c.end->alongside)));
            else if (c.end->unused && c.end->handshake_seen) notes.push_back(T(Msg::end_unused));
            const ChecksumText chk = checksum_text(lang_, c.end->checksums, c.client.address.v6);
            if (!chk.line.empty()) {
                notes.push_back(chk.line);
                for (const auto& [key, text] : chk.explanations) notes.push_back(text);
            }
        }
        notes.insert(notes.end(), c.notes.begin(), c.notes.end());
        if (!notes.empty()) {
            h += "<ul class=\"notes\">\n";
            for (const auto& n : notes) {
                std::string_view t = n;
                while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
                h += "<li>" + esc(t) + "</li>\n";
            }
            h += "</ul>\n";
        }

        h += "<h3>" + H(Msg::rep_ladder) + "</h3>\n<p class=\"hint\">" + H(Msg::rep_ladder_hint) + "</p>\n";
        h += "<p class=\"legend\"><span class=\"c-syn\"><i></i>SYN</span><span class=\"c-fin\"><i></i>FIN</span>"
             "<span class=\"c-rst\"><i></i>RST</span><span class=\"c-data\"><i></i>" + H(Msg::rep_legend_data) +
             "</span><span class=\"c-ack\"><i></i>" + H(Msg::rep_legend_ack) + "</span></p>\n";
        write_ladder(h, c);

        h += "<h3>" + H(Msg::rep_http) + "</h3>\n";
        write_exchanges(h, c);
        h += "<h3>" + H(Msg::rep_states) + "</h3>\n";
        write_timelines(h, c);
        h += "<h3>" + H(Msg::rep_packets, fmt::arg("n", c.head.size() + drawn_tail(c))) + "</h3>\n";
        h += "<p class=\"hint\">" + H(Msg::rep_packets_hint) + "</p>\n";
        write_packets(h, c);
        h += "</section>\n";
    }

    /// How many of the kept tail packets are drawn.
    static std::size_t drawn_tail(const Conn& c) {
        return c.packets > full_limit ? std::min(c.tail.size(), tail_drawn) : c.tail.size();
    }

    /// The packets drawn, in order; `omitted_after` is the index after which the marker goes.
    static std::vector<const a::PacketInfo*> drawn_packets(const Conn& c, std::size_t& omitted_after) {
        std::vector<const a::PacketInfo*> v;
        for (const auto& p : c.head) v.push_back(&p);
        omitted_after = c.packets > full_limit ? v.size() : static_cast<std::size_t>(-1);
        const std::size_t n = drawn_tail(c);
        for (std::size_t i = c.tail.size() - n; i < c.tail.size(); ++i) v.push_back(&c.tail[i]);
        return v;
    }

    [[nodiscard]] static std::string arrow_label(const a::PacketInfo& p) {
        std::string s = a::flags_to_string(p.flags) + "  seq=" + std::to_string(p.seq_rel);
        if (p.flags & a::tcp_flag::ack) s += " ack=" + std::to_string(p.ack_rel);
        s += " len=" + std::to_string(p.len);
        return s;
    }

    [[nodiscard]] static std::string flagged_label(const a::PacketInfo& p) {
        std::string s;
        for (int i = 0; i < a::analysis_flag_count; ++i)
            if (p.analysis.flags & (1u << i)) s += (s.empty() ? "" : ", ") + std::string(a::analysis_flag_name(i));
        return s;
    }

    static void state_box(std::string& h, int x, int y, bool right_aligned, const std::string& name, bool initial) {
        const int w = static_cast<int>(name.size()) * 7 + 10;
        const int rx = right_aligned ? x - w : x;
        h += fmt::format("<g class=\"st{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"17\" rx=\"3\"/>"
                         "<text x=\"{}\" y=\"{}\">{}</text></g>\n",
                         initial ? " st0" : "", rx, y - 13, w, rx + 5, y, esc(name));
    }

    void write_ladder(std::string& h, const Conn& c) const {
        std::size_t omitted_after = 0;
        const auto pkts = drawn_packets(c, omitted_after);
        if (pkts.empty()) {
            h += "<p class=\"muted\">" + H(Msg::rep_no_packets) + "</p>\n";
            return;
        }
        // Height: one row per packet, more for the rows with an HTTP annotation, and the marker.
        int height = top_y + 24;
        for (const auto* p : pkts) {
            height += row_h;
            const auto it = c.annotations.find(p->frame);
            if (it != c.annotations.end()) height += annot_h * static_cast<int>(it->second.size());
        }
        if (omitted_after != static_cast<std::size_t>(-1)) height += row_h + 10;

        const std::string sid = std::to_string(c.stream);
        h += fmt::format("<div class=\"ladder\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder-svg\" width=\"{0}\" height=\"{1}\" "
                         "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\">\n",
                         svg_width, height, esc(T(Msg::rep_ladder) + " #" + sid));
        h += "<defs>";
        for (const auto& [cls, colour] : std::initializer_list<std::pair<const char*, const char*>>{
                 {"syn", "#1a7f37"}, {"fin", "#8250df"}, {"rst", "#cf222e"}, {"data", "#0969da"}, {"ack", "#6e7781"}})
            h += fmt::format("<marker id=\"ah-{}-{}\" markerWidth=\"12\" markerHeight=\"10\" refX=\"11\" refY=\"5\" "
                             "orient=\"auto\" markerUnits=\"userSpaceOnUse\"><path d=\"M0,0 L12,5 L0,10 z\" fill=\"{}\"/></marker>",
                             sid, cls, colour);
        h += "</defs>\n<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";

        // Lane headers.
        for (const bool client : {true, false}) {
            const int x = client ? client_x : server_x;
            const a::Endpoint& ep = client ? c.client : c.server;
            h += fmt::format("<g class=\"lane lane-{}\"><rect class=\"lane-box\" x=\"{}\" y=\"8\" width=\"{}\" height=\"46\" rx=\"6\"/>"
                             "<text class=\"lane-name\" x=\"{}\" y=\"29\" text-anchor=\"middle\">{}</text>"
                             "<text class=\"lane-addr\" x=\"{}\" y=\"46\" text-anchor=\"middle\">{}</text></g>\n",
                             client ? "client" : "server", x - lane_box_w / 2, lane_box_w, x, esc(lane_name(c, client)), x,
                             esc(a::to_string(ep)));
        }

        // Lifelines (dashed across the omitted packets).
        int gap_top = -1;
        int gap_bottom = -1;
        {
            int y = top_y;
            for (std::size_t i = 0; i < pkts.size(); ++i) {
                y += row_h;
                const auto it = c.annotations.find(pkts[i]->frame);
                if (it != c.annotations.end()) y += annot_h * static_cast<int>(it->second.size());
                if (i + 1 == omitted_after) {
                    gap_top = y + 2;
                    gap_bottom = y + row_h + 6;
                    y += row_h + 10;
                }
            }
        }
        for (const int x : {client_x, server_x}) {
            if (gap_top < 0) {
                h += fmt::format("<line class=\"lifeline\" x1=\"{0}\" y1=\"54\" x2=\"{0}\" y2=\"{1}\"/>\n", x, height - 10);
            } else {
                h += fmt::format("<line class=\"lifeline\" x1=\"{0}\" y1=\"54\" x2=\"{0}\" y2=\"{1}\"/>"
                                 "<line class=\"lifeline gap\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
                                 "<line class=\"lifeline\" x1=\"{0}\" y1=\"{2}\" x2=\"{0}\" y2=\"{3}\"/>\n",
                                 x, gap_top, gap_bottom, height - 10);
            }
        }

        // Initial states, when the connection was seen from its SYN.
        std::optional<a::TcpState> shown_client;
        std::optional<a::TcpState> shown_server;
        if (c.handshake_seen) {
            shown_client = a::TcpState::closed;
            shown_server = a::TcpState::listen;
            state_box(h, client_x - 8, 76, true, state(*shown_client), true);
            state_box(h, server_x + 8, 76, false, state(*shown_server), true);
        }
        h += fmt::format("<text class=\"when\" x=\"8\" y=\"76\">{}</text>\n", esc(T(Msg::rep_frame_time)));

        // Rows.
        std::size_t next_mark = 0;
        a::TcpState cur_client = shown_client.value_or(a::TcpState::closed);
        a::TcpState cur_server = shown_server.value_or(a::TcpState::closed);
        bool have_state = c.handshake_seen;
        auto show_states = [&](int y) {
            if (!have_state) return;
            if (!shown_client || *shown_client != cur_client) {
                state_box(h, client_x - 8, y, true, state(cur_client), false);
                shown_client = cur_client;
            }
            if (!shown_server || *shown_server != cur_server) {
                state_box(h, server_x + 8, y, false, state(cur_server), false);
                shown_server = cur_server;
            }
        };
        int y = top_y;
        for (std::size_t i = 0; i < pkts.size(); ++i) {
            const a::PacketInfo& p = *pkts[i];
            while (next_mark < c.marks.size() && c.marks[next_mark].frame <= p.frame) {
                cur_client = c.marks[next_mark].client;
                cur_server = c.marks[next_mark].server;
                have_state = true;
                ++next_mark;
            }
            const bool c2s = p.from == a::Direction::client_to_server;
            const int x1 = c2s ? client_x : server_x;
            const int x2 = c2s ? server_x - 2 : client_x + 2;
            const char* cls = packet_class(p);
            const std::string flagged = flagged_label(p);
            std::string title = fmt::format("frame {} · {:.6f} s · {}", p.frame, p.time, arrow_label(p));
            if (!flagged.empty()) title += " · " + flagged;
            h += fmt::format("<text class=\"when\" x=\"8\" y=\"{}\">#{:<5} {:.6f}</text>\n", y + 22, p.frame, p.time);
            h += fmt::format("<a href=\"#p-{}-{}\"><g class=\"arrow {}\" data-frame=\"{}\"><title>{}</title>"
                             "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" marker-end=\"url(#ah-{}-{})\"/>"
                             "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}",
                             sid, p.frame, cls, p.frame, esc(title), x1, y + 17, x2, y + 26, sid, cls, (client_x + server_x) / 2,
                             y + 13, esc(arrow_label(p)));
            if (!flagged.empty()) h += " <tspan class=\"flagged\">[" + esc(flagged) + "]</tspan>";
            h += "</text></g></a>\n";
            show_states(y + 26);
            y += row_h;
            if (const auto it = c.annotations.find(p.frame); it != c.annotations.end()) {
                for (const auto& an : it->second) {
                    h += fmt::format("<text class=\"annot {}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", an.cls,
                                     (client_x + server_x) / 2, y + 6, esc(an.text));
                    y += annot_h;
                }
            }
            if (i + 1 == omitted_after) {
                const std::uint64_t omitted = c.packets - c.head.size() - drawn_tail(c);
                const std::uint64_t from = p.frame + 1;
                const std::uint64_t to = i + 1 < pkts.size() ? pkts[i + 1]->frame - 1 : p.frame;
                h += fmt::format("<g class=\"omitted\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f6f8fa\" rx=\"4\"/>"
                                 "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>\n",
                                 client_x + 12, y + 6, server_x - client_x - 24, row_h - 6, (client_x + server_x) / 2, y + 25,
                                 esc(T(Msg::rep_omitted, fmt::arg("n", omitted), fmt::arg("first", from), fmt::arg("last", to))));
                y += row_h + 10;
            }
        }
        h += "</svg>\n</div>\n";
    }

    static std::string flags_or_none(std::uint8_t flags) {
        std::string f = a::flags_to_string(flags);
        return f.empty() ? std::string("-") : f;
    }

    void write_exchanges(std::string& h, const Conn& c) const {
        if (c.exchanges.empty()) {
            h += "<p class=\"muted\">" + H(Msg::rep_no_http) + "</p>\n";
            return;
        }
        h += "<table class=\"http\">\n<tr><th>#</th><th>" + H(Msg::rep_col_request) + "</th><th>" + H(Msg::rep_col_status) +
             "</th><th>" + H(Msg::rep_col_type) + "</th><th>" + H(Msg::rep_col_size) + "</th><th>" + H(Msg::rep_col_segments) +
             "</th><th>" + H(Msg::rep_col_time) + "</th><th>" + H(Msg::rep_col_frames) + "</th></tr>\n";
        for (const auto& x : c.exchanges) {
            h += fmt::format("<tr><td class=\"num\">{}</td><td class=\"mono\">{}</td>", x.index + 1, esc(x.request.empty() ? "?" : x.request));
            if (x.has_response) {
                std::string status = std::to_string(x.status) + " " + esc(x.reason);
                if (!x.complete) status += " <span class=\"warn\">(" + H(Msg::rep_incomplete) + ")</span>";
                h += fmt::format("<td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
                                 status, esc(x.content_type.value_or("")), x.bytes, x.segments,
                                 x.time ? fmt::format("{:.3f} ms", *x.time * 1e3) : std::string("-"));
            } else {
                h += "<td colspan=\"5\" class=\"muted\">" + H(Msg::rep_no_response) + "</td>";
            }
            std::string frames;
            if (x.has_request) frames += frame_link(c, x.request_frame);
            if (x.has_response) {
                frames += " → " + frame_link(c, x.first_frame);
                if (x.last_frame != x.first_frame) frames += "–" + frame_link(c, x.last_frame);
            }
            h += "<td class=\"mono frames\">" + frames + "</td></tr>\n";
            // Each message's header block, as sent.
            if (!x.request_headers.empty() || !x.response_headers.empty()) {
                std::string block;
                if (x.has_request) block += esc(x.request) + "\n";
                for (const auto& hd : x.request_headers) block += esc(hd.name) + ": " + esc(hd.value) + "\n";
                if (x.has_response) block += "\n" + esc(x.status_line) + "\n";
                for (const auto& hd : x.response_headers) block += esc(hd.name) + ": " + esc(hd.value) + "\n";
                h += "<tr class=\"hdrs\"><td></td><td colspan=\"7\"><details><summary>" + H(Msg::rep_headers) +
                     "</summary><pre class=\"mono\">" + block + "</pre></details></td></tr>\n";
            }
        }
        h += "</table>\n";
        if (c.exchanges_dropped)
            h += "<p class=\"muted\">" + H(Msg::rep_more_exchanges, fmt::arg("n", c.exchanges_dropped)) + "</p>\n";
    }

    /// "12" linked to its packet details when that packet is drawn.
    static std::string frame_link(const Conn& c, std::uint64_t frame) {
        std::size_t omitted_after = 0;
        for (const auto* p : drawn_packets(c, omitted_after))
            if (p->frame == frame)
                return fmt::format("<a href=\"#p-{}-{}\">{}</a>", c.stream, frame, frame);
        return std::to_string(frame);
    }

    void write_timelines(std::string& h, const Conn& c) const {
        for (const bool client : {true, false}) {
            h += "<div class=\"timeline\"><span class=\"who\">" + esc(lane_name(c, client)) + "</span><span class=\"chips\">";
            std::optional<a::TcpState> last;
            bool first = true;
            if (c.handshake_seen) {
                last = client ? a::TcpState::closed : a::TcpState::listen;
                h += "<span class=\"chip\">" + esc(state(*last)) + "</span>";
                first = false;
            }
            for (const auto& m : c.marks) {
                const a::TcpState s = client ? m.client : m.server;
                if (last && *last == s) continue;
                last = s;
                if (!first) h += "<span class=\"sep\">→</span>";
                first = false;
                h += fmt::format("<span class=\"chip\">{} <small>{}</small></span>", esc(state(s)),
                                 esc(T(Msg::rep_at_frame, fmt::arg("frame", m.frame), fmt::arg("time", fmt::format("{:.6f}", m.time)))));
            }
            if (first) h += "<span class=\"muted\">" + H(Msg::rep_no_states) + "</span>";
            h += "</span></div>\n";
        }
    }

    void field(std::string& h, Msg name, const std::string& value_html) const {
        h += "<tr><th>" + H(name) + "</th><td>" + value_html + "</td></tr>";
    }

    void write_packets(std::string& h, const Conn& c) const {
        std::size_t omitted_after = 0;
        const auto pkts = drawn_packets(c, omitted_after);
        h += "<div class=\"packets\">\n";
        for (std::size_t i = 0; i < pkts.size(); ++i) {
            const a::PacketInfo& p = *pkts[i];
            const bool c2s = p.from == a::Direction::client_to_server;
            h += fmt::format("<details id=\"p-{}-{}\" class=\"pkt\"><summary>#{:<5} {:>10.6f} s  {}  {}</summary>\n", c.stream, p.frame,
                             p.frame, p.time, esc(T(c2s ? Msg::arrow_c2s : Msg::arrow_s2c)), esc(arrow_label(p)));
            h += "<table class=\"fields\">";
            field(h, Msg::rep_f_frame, std::to_string(p.frame));
            field(h, Msg::rep_f_time, fmt::format("{:.6f} s", p.time));
            field(h, Msg::rep_f_direction, esc(T(c2s ? Msg::arrow_c2s : Msg::arrow_s2c) + "  (" +
                                               a::to_string(c2s ? c.client : c.server) + " → " + a::to_string(c2s ? c.server : c.client) + ")"));
            field(h, Msg::rep_f_flags, esc(flags_or_none(p.flags)) + fmt::format(" <span class=\"muted\">(0x{:02x})</span>", p.flags));
            field(h, Msg::rep_f_seq, H(Msg::rep_rel_raw, fmt::arg("rel", p.seq_rel), fmt::arg("raw", p.seq_raw)));
            field(h, Msg::rep_f_ack,
                  (p.flags & a::tcp_flag::ack) ? H(Msg::rep_rel_raw, fmt::arg("rel", p.ack_rel), fmt::arg("raw", p.ack_raw))
                                               : H(Msg::rep_ack_unset));
            field(h, Msg::rep_f_len, std::to_string(p.len));
            const bool takes_one = (p.flags & (a::tcp_flag::syn | a::tcp_flag::fin)) != 0;
            field(h, Msg::rep_f_next, H(takes_one ? Msg::rep_next_seq_flag : Msg::rep_next_seq, fmt::arg("next", p.next_seq_rel),
                                        fmt::arg("seq", p.seq_rel), fmt::arg("len", p.len)));
            const auto& pa = p.analysis;
            std::string win;
            if (pa.window_scale > 1)
                win = H(Msg::rep_win_scaled, fmt::arg("raw", p.window_raw), fmt::arg("mult", pa.window_scale), fmt::arg("bytes", pa.window));
            else if (pa.window_scale == -1)
                win = H(Msg::rep_win_unknown, fmt::arg("raw", p.window_raw));
            else
                win = H(Msg::rep_win_plain, fmt::arg("raw", p.window_raw));
            field(h, Msg::rep_f_window, win);
            if (pa.bytes_in_flight) field(h, Msg::rep_f_in_flight, std::to_string(*pa.bytes_in_flight));
            if (pa.acks_frame)
                field(h, Msg::rep_f_acks,
                      H(Msg::pkt_acks, fmt::arg("frame", pa.acks_frame), fmt::arg("ms", fmt::format("{:.3f}", pa.ack_rtt.value_or(0) * 1e3))));
            std::string flags;
            for (const auto& rule : pa.rules)
                flags += "<div>⚑ " + H(Msg::pkt_flag, fmt::arg("flag", flag_label(lang_, flag_index(rule.flag))),
                                       fmt::arg("rule", rule_text(lang_, rule))) + "</div>";
            field(h, Msg::rep_f_analysis, flags.empty() ? H(Msg::rep_none) : flags);
            if (!p.sack_rel.empty()) {
                std::string sack;
                for (const auto& [le, re] : p.sack_rel) sack += fmt::format("{}{}–{}", sack.empty() ? "" : ", ", le, re);
                if (pa.dsack) sack += " (D-SACK)";
                field(h, Msg::rep_f_sack, esc(sack));
            }
            if (p.ts_val)
                field(h, Msg::rep_f_timestamps, fmt::format("TSval {} · TSecr {}", *p.ts_val, p.ts_ecr.value_or(0)));
            if (const auto it = comments_.find(p.frame); it != comments_.end())
                field(h, Msg::rep_f_comment, esc(it->second));
            h += "</table></details>\n";
        }
        h += "</div>\n";
    }

    std::ostream& out_;
    Lang lang_;
    std::string title_;
    std::map<std::uint32_t, Conn> conns_;   // at most max_table_rows
    Conn scratch_;                          // takes the events of the connections past them
    std::uint64_t overflow_ = 0;            // connections past them (counted only)
    bool overflow_seen_ = false;
    std::uint32_t highest_overflow_ = 0;
    std::size_t drawn_count_ = 0;
    std::vector<std::string> file_comments_;
    std::map<std::uint64_t, std::string> comments_;
};

}  // namespace

std::unique_ptr<Renderer> make_html_report(std::ostream& out, Lang lang, std::string title) {
    return std::make_unique<HtmlReport>(out, lang, std::move(title));
}

}  // namespace labtool::cli
