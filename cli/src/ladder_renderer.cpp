// The ladder (sequence) diagram in the terminal: two lanes per connection, "browser :52126" and
// "labtool :3000" (never one lane for 127.0.0.1), one arrow per packet labelled with flags,
// relative seq/ack and length, and the state each side enters beside its lane. Live it grows as
// packets arrive; after a replay each connection's diagram is printed whole.
#include "explain.hpp"
#include "messages.hpp"
#include "renderer.hpp"

#include <fmt/format.h>

#include <map>
#include <vector>

namespace labtool::cli {
namespace {

using namespace ansi;  // colour names: red, dim …

namespace a = labtool::analysis;

constexpr std::size_t arrow_width = 54;   // columns between the two lanes
constexpr std::size_t state_width = 13;
constexpr std::size_t rows_kept_per_connection = 400;
constexpr std::size_t max_grouped = 200;   // connections drawn after a replay

std::string pad_right(const std::string& s, std::size_t width) {
    const std::size_t w = display_width(s);
    return w >= width ? s : s + std::string(width - w, ' ');
}

std::string repeat(std::string_view unit, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += unit;
    return out;
}

struct Row {
    std::uint32_t stream = 0;
    std::uint64_t frame = 0;
    a::Direction from = a::Direction::client_to_server;
    std::string label;
    std::string note;
    std::string client_state;   // shown only when it changed
    std::string server_state;
};

struct Lanes {
    std::string client;
    std::string server;
    a::TcpState client_state = a::TcpState::closed;
    a::TcpState server_state = a::TcpState::listen;
    std::string shown_client;
    std::string shown_server;
    std::vector<Row> rows;      // grouped mode
    std::uint64_t rows_dropped = 0;
};

class LadderRenderer final : public Renderer {
public:
    LadderRenderer(std::ostream& out, TextOptions o, bool grouped) : out_(out), opt_(o), grouped_(grouped) {}

    void on_event(const a::Event& event) override {
        std::visit([&](const auto& e) { handle(e); }, event);
    }

    void flush() override {
        emit_pending();
        out_.flush();
    }

    void on_comment(std::uint64_t, const std::string&) override {}

    void on_summary(const RunSummary&) override {
        emit_pending();
        if (!grouped_) return;
        for (auto& [stream, lanes] : lanes_) {
            header(stream, lanes);
            for (const auto& r : lanes.rows) print(r);
            if (lanes.rows_dropped)
                out_ << "        " << format_msg(opt_.lang, Msg::sum_more_rows, fmt::arg("n", lanes.rows_dropped)) << '\n';
        }
        if (not_drawn_) out_ << '\n' << format_msg(opt_.lang, Msg::rep_more_connections, fmt::arg("n", not_drawn_)) << '\n';
    }

private:
    [[nodiscard]] std::string paint(const char* code, const std::string& t) const {
        return ansi::paint(opt_.color, code, t);
    }

    void header(std::uint32_t stream, const Lanes& l) {
        out_ << '\n'
             << fmt::format("#{} {}{}{}\n", stream, pad_right(l.client, state_width + arrow_width - 2), "  ", l.server);
        last_header_ = stream;
    }

    void handle(const a::ConnectionOpened& e) {
        // After a replay every connection is drawn whole: up to max_grouped of them (memory
        // stays bounded for 100 000 connections); the rest are counted.
        if (grouped_ && lanes_.size() >= max_grouped) {
            ++not_drawn_;
            return;
        }
        Lanes& l = lanes_[e.stream];
        l.client = lane_name(opt_.lang, a::Direction::client_to_server, e.client.port, opt_.server_name);
        l.server = lane_name(opt_.lang, a::Direction::server_to_client, e.server.port, opt_.server_name);
        if (!e.handshake_seen) {
            l.client_state = a::TcpState::established;
            l.server_state = a::TcpState::established;
        }
        // Live, the lanes are named with the connection's first row (see emit_pending).
    }

    void handle(const a::PacketInfo& e) {
        emit_pending();
        pending_ = Row{};
        pending_->stream = e.stream;
        pending_->frame = e.frame;
        pending_->from = e.from;
        std::string label = a::flags_to_string(e.flags) + " seq=" + std::to_string(e.seq_rel);
        if (e.flags & a::tcp_flag::ack) label += " ack=" + std::to_string(e.ack_rel);
        if (e.len) label += " len=" + std::to_string(e.len);
        pending_->label = label;
    }

    void handle(const a::Handshake& e) { set_states(e.stream, e.client_state, e.server_state); }
    void handle(const a::Teardown& e) { set_states(e.stream, e.client_state, e.server_state); }
    void handle(const a::Reset& e) { set_states(e.stream, a::TcpState::closed, a::TcpState::closed); }
    void handle(const a::HttpRequest& e) {
        if (pending_ && pending_->frame == e.frame && pending_->from == e.from) pending_->note = e.method + " " + e.uri;
    }
    void handle(const a::HttpResponse& e) {
        // Only on a server's arrow: a response cut off by a client's RST ends on the RST's frame.
        if (pending_ && pending_->frame == e.frame && pending_->from == e.from)
            pending_->note = std::to_string(e.status) + " " + e.reason;
    }
    void handle(const a::ConnectionEnd& e) {
        // Live, a finished connection's lanes are dropped (its last row printed first); late
        // packets of it are drawn without states. Grouped, every connection is printed at the end.
        emit_pending();
        if (!grouped_) lanes_.erase(e.stream);
    }
    template <typename E>
    void handle(const E&) {}

    void set_states(std::uint32_t stream, a::TcpState c, a::TcpState s) {
        auto it = lanes_.find(stream);
        if (it == lanes_.end()) return;  // a late packet of a finished connection
        it->second.client_state = c;
        it->second.server_state = s;
    }

    void emit_pending() {
        if (!pending_) return;
        Row r = std::move(*pending_);
        pending_.reset();
        auto it = lanes_.find(r.stream);
        if (it == lanes_.end() && grouped_) return;   // a connection past max_grouped
        if (it == lanes_.end()) {   // a late packet of a finished connection: tagged with it
            r.note = fmt::format("#{} ", r.stream) + r.note;
            last_header_.reset();
            return print(r);
        }
        Lanes& l = it->second;
        const std::string cs(a::state_name(l.client_state));
        const std::string ss(a::state_name(l.server_state));
        if (cs != l.shown_client) r.client_state = l.shown_client = cs;
        if (ss != l.shown_server) r.server_state = l.shown_server = ss;
        if (grouped_) {
            if (l.rows.size() < rows_kept_per_connection) l.rows.push_back(std::move(r));
            else ++l.rows_dropped;
            return;
        }
        // Live, packets of several connections interleave: a row never appears under another
        // connection's lanes, the lanes are named again whenever the connection changes.
        if (last_header_ != r.stream) header(r.stream, l);
        print(r);
    }

    void print(const Row& r) {
        // The HTTP message first: it is what the student looks for on that arrow.
        std::string label = " " + (r.note.empty() ? "" : r.note + " · ") + r.label + " ";
        const std::size_t room = arrow_width - 3;
        if (display_width(label) > room) label = cut_to_width(label, room - 1) + "…";
        const std::size_t fill = room > display_width(label) ? room - display_width(label) : 0;
        std::string arrow;
        if (r.from == a::Direction::client_to_server)
            arrow = "├─" + label + repeat("─", fill) + "▶│";
        else
            arrow = "│◀" + repeat("─", fill) + label + "─┤";
        const char* colour = r.label.find("RST") != std::string::npos   ? red
                             : r.label.find("SYN") != std::string::npos ? green
                             : r.label.find("FIN") != std::string::npos ? magenta
                                                                        : nullptr;
        if (colour) arrow = paint(colour, arrow);
        out_ << fmt::format("{:>6} {}{}{}\n", r.frame, pad_right(r.client_state, state_width), arrow,
                            r.server_state.empty() ? std::string() : " " + paint(dim, r.server_state));
    }

    std::ostream& out_;
    TextOptions opt_;
    bool grouped_;
    std::map<std::uint32_t, Lanes> lanes_;
    std::optional<Row> pending_;
    std::optional<std::uint32_t> last_header_;
    std::uint64_t not_drawn_ = 0;   // grouped: connections past max_grouped   // the connection whose lanes were named last
};

}  // namespace

std::unique_ptr<Renderer> make_ladder_renderer(std::ostream& out, TextOptions options, bool grouped) {
    return std::make_unique<LadderRenderer>(out, options, grouped);
}

}  // namespace labtool::cli
