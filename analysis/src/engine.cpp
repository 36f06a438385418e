// The engine: decode → connection table → per-side TCP state and reassembly → HTTP → events.
// Everything is driven by packet order and packet time; nothing here does I/O.
#include "labtool/analysis/engine.hpp"

#include "labtool/analysis/decode.hpp"
#include "labtool/analysis/http_stream.hpp"
#include "labtool/analysis/seq_analysis.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <limits>
#include <map>
#include <unordered_map>

namespace labtool::analysis {

const EventBase& base_of(const Event& event) noexcept {
    return std::visit([](const auto& e) -> const EventBase& { return e; }, event);
}

std::string_view event_name(const Event& event) noexcept {
    struct Namer {
        std::string_view operator()(const PacketInfo&) const { return "packet"; }
        std::string_view operator()(const ConnectionOpened&) const { return "connection"; }
        std::string_view operator()(const Handshake&) const { return "handshake"; }
        std::string_view operator()(const HttpRequest&) const { return "http_request"; }
        std::string_view operator()(const HttpResponse&) const { return "http_response"; }
        std::string_view operator()(const ResponseAcked&) const { return "response_acked"; }
        std::string_view operator()(const Teardown&) const { return "teardown"; }
        std::string_view operator()(const Reset&) const { return "reset"; }
        std::string_view operator()(const StreamGap&) const { return "gap"; }
        std::string_view operator()(const HttpParseError&) const { return "http_error"; }
        std::string_view operator()(const ConnectionEnd&) const { return "connection_end"; }
    };
    return std::visit(Namer{}, event);
}

std::string to_string(const Endpoint& e) {
    const std::string ip = to_string(e.address);
    return e.address.v6 ? "[" + ip + "]:" + std::to_string(e.port) : ip + ":" + std::to_string(e.port);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

namespace {

constexpr std::size_t max_deliveries_tracked = 64;
constexpr std::size_t max_pending_requests = 256;
constexpr std::size_t max_segments_tracked = 8192;   // server segments remembered for ACK matching

/// RFC 1982 serial-number comparison, as TCP compares sequence numbers (RFC 9293 §3.4).
bool seq_after_or_equal(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) >= 0; }

struct ConnKey {
    IpAddress a;
    IpAddress b;
    std::uint16_t port_a = 0;
    std::uint16_t port_b = 0;
    friend bool operator==(const ConnKey&, const ConnKey&) = default;
};

ConnKey make_key(const TcpSegment& s) {
    // Normalised so both directions of a connection share one key.
    if (std::tie(s.src, s.src_port) < std::tie(s.dst, s.dst_port)) return {s.src, s.dst, s.src_port, s.dst_port};
    return {s.dst, s.src, s.dst_port, s.src_port};
}

struct ConnKeyHash {
    std::size_t operator()(const ConnKey& k) const noexcept {
        std::size_t h = 1469598103934665603ull;
        auto mix = [&h](std::uint8_t byte) { h = (h ^ byte) * 1099511628211ull; };
        for (auto byte : k.a.bytes) mix(byte);
        for (auto byte : k.b.bytes) mix(byte);
        mix(static_cast<std::uint8_t>(k.port_a)); mix(static_cast<std::uint8_t>(k.port_a >> 8));
        mix(static_cast<std::uint8_t>(k.port_b)); mix(static_cast<std::uint8_t>(k.port_b >> 8));
        return h;
    }
};

/// A FIFO on a vector: nothing is allocated while it is empty (libstdc++'s std::deque allocates
/// on construction, which thousands of finished connections would pay for).
template <typename T>
class VecQueue {
public:
    void push_back(T v) { items_.push_back(std::move(v)); }
    T& front() { return items_[head_]; }
    void pop_front() {
        ++head_;
        if (head_ == items_.size()) clear();
        else if (head_ >= 64 && head_ * 2 >= items_.size()) {
            items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }
    [[nodiscard]] bool empty() const { return head_ == items_.size(); }
    [[nodiscard]] std::size_t size() const { return items_.size() - head_; }
    void clear() {
        items_.clear();
        head_ = 0;
    }
    void release() {
        clear();
        items_.shrink_to_fit();
    }

private:
    std::vector<T> items_;
    std::size_t head_ = 0;
};

struct OutOfOrder {
    std::vector<std::uint8_t> data;
    SegmentOrigin origin;
};

struct Side {
    Endpoint endpoint;
    TcpState state = TcpState::closed;
    bool base_known = false;      // isn below is meaningful (from a SYN, or inferred)
    bool syn_seen = false;
    std::uint32_t isn = 0;        // base of relative numbers: relative seq = seq - isn
    bool fin_sent = false;
    bool fin_acked = false;
    std::uint32_t fin_seq = 0;    // sequence number the FIN occupies
    std::uint64_t fin_offset = 0; // stream offset of the FIN (= bytes before it)
    std::uint64_t fin_frame = 0;  // frame that first carried the FIN
    double fin_time = 0;
    std::uint64_t fin_resent_frame = 0;  // the FIN came again after the connection ended, here
    std::uint64_t next_offset = 0;   // reassembly: next in-order stream offset
    std::map<std::uint64_t, OutOfOrder> ooo;
    std::size_t ooo_bytes = 0;
    std::uint64_t gap_bytes = 0;
    DirectionTotals totals;
    HttpStream http;

    Side(bool requests, const EngineOptions& o) : http(requests, o.max_header_bytes, o.max_headers_kept) {}

    void set_base(std::uint32_t isn_value) {
        isn = isn_value;
        base_known = true;
    }
    [[nodiscard]] std::uint32_t rel(std::uint32_t seq) const { return seq - isn; }
    /// Stream offset of sequence number `seq` (the first data byte is seq isn+1, offset 0),
    /// unwrapped around next_offset so streams over 4 GiB still order correctly.
    [[nodiscard]] std::int64_t offset_of(std::uint32_t seq) const {
        const std::uint32_t off32 = seq - isn - 1;
        const auto diff = static_cast<std::int32_t>(off32 - static_cast<std::uint32_t>(next_offset));
        return static_cast<std::int64_t>(next_offset) + diff;
    }
};

/// A server data segment waiting for (or recently given) its cumulative ACK.
struct SentSegment {
    std::uint64_t frame = 0;
    std::uint64_t end = 0;       // stream offset just past its last byte
};

struct PendingRequest {
    std::string method;
    std::string uri;
    std::uint64_t frame = 0;
    double time = 0.0;
};

struct Delivery {
    std::uint32_t index = 0;
    std::optional<std::string> uri;
    int status = 0;
    std::uint64_t end_offset = 0;
    std::vector<SegmentRef> segments;
};

struct Connection;

/// What a connection's HTTP listeners report to (the engine).
class ConnectionHost {
public:
    virtual void on_http(Connection& c, Direction dir, HttpMessage& m) = 0;
    virtual void on_http_error(Connection& c, Direction dir, const std::string& reason, std::uint64_t frame) = 0;

protected:
    ~ConnectionHost() = default;
};

struct SideListener final : HttpListener {
    ConnectionHost* host = nullptr;
    Connection* conn = nullptr;
    Direction dir = Direction::client_to_server;
    void on_message(HttpMessage& message) override;
    bool next_response_has_no_body() override;
    void on_parse_error(const std::string& reason, std::uint64_t frame) override;
};

struct Connection {
    std::uint32_t stream = 0;
    Side client;
    Side server;
    SideListener client_listener;
    SideListener server_listener;
    bool handshake_seen = false;
    int handshake_step = 0;
    int teardown_step = 0;
    bool ended = false;
    bool reset = false;
    std::optional<Direction> closed_first;
    std::uint64_t first_frame = 0;
    double first_time = 0.0;
    double last_time = 0.0;
    VecQueue<PendingRequest> requests;
    VecQueue<Delivery> deliveries;
    VecQueue<SentSegment> unacked;                 // server segments not yet acknowledged
    std::map<std::uint64_t, std::uint64_t> acked;  // server segment frame → frame of its ACK
    std::uint32_t request_count = 0;
    std::uint32_t response_count = 0;
    SeqAnalyzer seq;
    std::array<std::uint32_t, analysis_flag_count> flag_counts{};
    std::string history;
    std::array<std::uint32_t, 8> history_counts{};   // repeats of t, w, g per direction

    explicit Connection(const EngineOptions& o) : client(true, o), server(false, o) {}
    Side& side(Direction d) { return d == Direction::client_to_server ? client : server; }
    Side& peer(Direction d) { return d == Direction::client_to_server ? server : client; }
};

}  // namespace

/// Zeek's conn_state summary of a connection, from what each side sent.
static std::string conn_state(const Connection& c) {
    const bool syn = c.client.syn_seen;
    const bool synack = c.server.syn_seen;
    const bool cfin = c.client.fin_sent;
    const bool sfin = c.server.fin_sent;
    const bool crst = c.history.find('R') != std::string::npos;
    const bool srst = c.history.find('r') != std::string::npos;
    if (!syn && !synack) return "OTH";
    if (crst) return synack ? "RSTO" : "RSTOS0";
    if (srst) {
        if (syn && !synack) return "REJ";
        if (!syn) return "RSTRH";
        return "RSTR";
    }
    if (syn && !synack) return cfin ? "SH" : "S0";
    if (!syn) return sfin ? "SHR" : "OTH";
    if (cfin && sfin) return "SF";
    if (cfin) return "S2";
    if (sfin) return "S3";
    return "S1";
}

struct Engine::Impl final : ConnectionHost {
    EngineOptions options;
    EngineStats stats;
    std::unordered_map<ConnKey, std::unique_ptr<Connection>, ConnKeyHash> table;
    /// Finished connections whose state was freed: key → time of their last packet.
    std::unordered_map<ConnKey, double, ConnKeyHash> retired;
    std::deque<ConnKey> retired_order;   // oldest first, for the cap
    double last_expiry = 0.0;
    std::uint32_t next_stream = 0;
    bool have_first = false;
    Timestamp first_ts;
    bool finished = false;

    // Per-call context.
    const Sink* sink = nullptr;
    std::uint64_t frame = 0;
    double now = 0.0;

    template <typename E>
    void emit(E&& event) {
        (*sink)(Event{std::forward<E>(event)});
    }

    template <typename E>
    E make(const Connection& c) const {
        E e;
        e.stream = c.stream;
        e.frame = frame;
        e.time = now;
        return e;
    }

    void process(const Frame& f);
    Connection& lookup(const TcpSegment& seg, bool& created, bool& reused);
    void analyze_packet(Connection& c, const TcpSegment& seg, Direction dir, std::int64_t ts_ns, bool reused);
    void add_history(Connection& c, Direction dir, char letter, bool repeatable = false);
    void on_segment(Connection& c, const TcpSegment& seg, Direction dir);
    void late_teardown(Connection& c, const TcpSegment& seg, Direction dir);
    Teardown teardown_step(Connection& c, const TcpSegment& seg, Direction dir);
    void deliver(Connection& c, Direction dir, const TcpSegment& seg);
    void push_in_order(Connection& c, Direction dir, std::uint64_t offset, std::span<const std::uint8_t> data,
                       const SegmentOrigin& origin);
    void flush_gap(Connection& c, Direction dir);
    void pull_in_order(Connection& c, Direction dir);
    void track_acks(Connection& c, std::uint32_t ack);
    void end_connection(Connection& c, CloseKind kind);
    void on_http(Connection& c, Direction dir, HttpMessage& m) override;
    void on_http_error(Connection& c, Direction dir, const std::string& reason, std::uint64_t at_frame) override {
        HttpParseError e = make<HttpParseError>(c);
        e.frame = at_frame;
        e.from = dir;
        e.reason = reason;
        emit(std::move(e));
    }
    void evict_if_full();
    void expire();
    static HttpListener& listener(Connection& c, Direction dir) {
        if (dir == Direction::client_to_server) return c.client_listener;
        return c.server_listener;
    }
};

namespace {

void SideListener::on_message(HttpMessage& message) { host->on_http(*conn, dir, message); }
bool SideListener::next_response_has_no_body() {
    return !conn->requests.empty() && conn->requests.front().method == "HEAD";
}
void SideListener::on_parse_error(const std::string& reason, std::uint64_t frame) {
    host->on_http_error(*conn, dir, reason, frame);
}

}  // namespace

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = options; }
Engine::~Engine() = default;

const EngineStats& Engine::stats() const noexcept { return impl_->stats; }

void Engine::process(const Frame& frame, const Sink& sink) {
    impl_->sink = &sink;
    impl_->process(frame);
    impl_->sink = nullptr;
}

void Engine::finish(const Sink& sink) {
    if (impl_->finished) return;
    impl_->finished = true;
    impl_->sink = &sink;
    std::vector<Connection*> open;
    for (auto& [key, conn] : impl_->table)
        if (!conn->ended) open.push_back(conn.get());
    std::sort(open.begin(), open.end(), [](auto* a, auto* b) { return a->stream < b->stream; });
    for (Connection* c : open) {
        const bool both_fin = c->client.fin_sent && c->server.fin_sent;
        impl_->end_connection(*c, both_fin ? CloseKind::fin : CloseKind::open);
    }
    impl_->sink = nullptr;
}

void Engine::Impl::process(const Frame& f) {
    ++stats.frames;
    frame = stats.frames;
    if (!have_first) {
        have_first = true;
        first_ts = f.ts;
        stats.first_time = static_cast<double>(f.ts.sec) + f.ts.nsec / 1e9;
    }
    // Capture timestamps can step backwards; time is still measured from the first frame.
    now = static_cast<double>(f.ts.sec - first_ts.sec) + (static_cast<double>(f.ts.nsec) - first_ts.nsec) / 1e9;
    stats.last_time = static_cast<double>(f.ts.sec) + f.ts.nsec / 1e9;

    TcpSegment seg;
    switch (decode(f, seg)) {
        case DecodeStatus::ok: break;
        case DecodeStatus::truncated: ++stats.truncated; return;
        case DecodeStatus::invalid: ++stats.invalid; return;
        case DecodeStatus::unsupported_link: ++stats.unsupported_link; return;
        case DecodeStatus::not_ip:
        case DecodeStatus::not_tcp: ++stats.ignored; return;
    }
    if (options.port && seg.src_port != *options.port && seg.dst_port != *options.port) {
        ++stats.ignored;
        return;
    }
    ++stats.tcp_frames;
    // Free idle and long-finished connections, by packet time, about once a second of it.
    if (now - last_expiry >= 1.0 || now < last_expiry) {
        last_expiry = now;
        expire();
    }
    bool created = false;
    bool reused = false;
    if (!retired.empty()) {
        const ConnKey key = make_key(seg);
        if (table.find(key) == table.end()) {
            auto it = retired.find(key);
            if (it != retired.end()) {
                if (!(seg.has(tcp_flag::syn) && !seg.has(tcp_flag::ack))) {
                    ++stats.late_frames;   // a late packet of a connection already reported
                    it->second = now;
                    return;
                }
                retired.erase(it);        // its ports are reused by a new connection
                reused = true;
            }
        }
    }
    Connection& c = lookup(seg, created, reused);
    const Direction dir = (seg.src == c.client.endpoint.address && seg.src_port == c.client.endpoint.port)
                              ? Direction::client_to_server
                              : Direction::server_to_client;
    if (created) {
        ConnectionOpened e = make<ConnectionOpened>(c);
        e.client = c.client.endpoint;
        e.server = c.server.endpoint;
        e.handshake_seen = c.handshake_seen;
        emit(std::move(e));
    }
    const std::int64_t ts_ns = f.ts.sec * 1'000'000'000LL + f.ts.nsec;
    analyze_packet(c, seg, dir, ts_ns, reused);
    on_segment(c, seg, dir);
}

void Engine::Impl::add_history(Connection& c, Direction dir, char letter, bool repeatable) {
    // Zeek's history: one letter per kind and direction, client in upper case; t/w/g repeat
    // at 1, 10, 100, … occurrences.
    const bool client = dir == Direction::client_to_server;
    const char l = client ? static_cast<char>(std::toupper(static_cast<unsigned char>(letter))) : letter;
    if (repeatable) {
        const std::size_t slot = (letter == 't' ? 0 : letter == 'w' ? 1 : 2) * 2 + (client ? 0 : 1);
        const std::uint32_t n = ++c.history_counts[slot];
        if (n == 1 || n == 10 || n == 100 || n == 1000 || n == 10000) c.history.push_back(l);
        return;
    }
    if (c.history.find(l) == std::string::npos) c.history.push_back(l);
}

void Engine::Impl::analyze_packet(Connection& c, const TcpSegment& seg, Direction dir, std::int64_t ts_ns, bool reused) {
    const int d = dir == Direction::client_to_server ? 0 : 1;
    PacketAnalysis pa = c.seq.analyze(seg, d, ts_ns, frame, reused);
    for (int i = 0; i < analysis_flag_count; ++i)
        if (pa.flags & (1u << i)) ++c.flag_counts[static_cast<std::size_t>(i)];
    if (seg.has(tcp_flag::syn)) add_history(c, dir, seg.has(tcp_flag::ack) ? 'h' : 's');
    else if (seg.has(tcp_flag::ack) && seg.payload_len == 0 && !seg.has(tcp_flag::fin) && !seg.has(tcp_flag::rst))
        add_history(c, dir, 'a');
    if (seg.payload_len > 0) add_history(c, dir, 'd');
    if (seg.has(tcp_flag::fin)) add_history(c, dir, 'f');
    if (seg.has(tcp_flag::rst)) add_history(c, dir, 'r');
    if (pa.flags & (static_cast<std::uint32_t>(AnalysisFlag::retransmission) |
                    static_cast<std::uint32_t>(AnalysisFlag::fast_retransmission) |
                    static_cast<std::uint32_t>(AnalysisFlag::spurious_retransmission)))
        add_history(c, dir, 't', true);
    if (pa.has(AnalysisFlag::zero_window)) add_history(c, dir, 'w', true);
    if (!options.emit_packets) return;
    const Side& s = c.side(dir);
    const Side& r = c.peer(dir);
    PacketInfo e = make<PacketInfo>(c);
    e.from = dir;
    e.flags = seg.flags;
    e.seq_raw = seg.seq;
    e.ack_raw = seg.ack;
    const std::uint32_t s_base = s.base_known ? s.isn : (seg.has(tcp_flag::syn) ? seg.seq : seg.seq - 1);
    e.seq_rel = seg.seq - s_base;
    e.ack_rel = seg.has(tcp_flag::ack) ? seg.ack - (r.base_known ? r.isn : seg.ack - 1) : 0;
    e.len = seg.payload_len;
    e.next_seq_rel = e.seq_rel + seg.payload_len + ((seg.has(tcp_flag::syn) || seg.has(tcp_flag::fin)) ? 1u : 0u);
    e.window_raw = seg.window;
    e.ts_val = seg.options.ts_val;
    e.ts_ecr = seg.options.ts_ecr;
    e.analysis = std::move(pa);
    emit(std::move(e));
}

Connection& Engine::Impl::lookup(const TcpSegment& seg, bool& created, bool& reused) {
    const ConnKey key = make_key(seg);
    const bool pure_syn = seg.has(tcp_flag::syn) && !seg.has(tcp_flag::ack);
    auto it = table.find(key);
    if (it != table.end()) {
        Connection& c = *it->second;
        // A SYN with another ISN on the same ports starts a new stream (port reuse), exactly
        // where Wireshark starts a new tcp.stream.
        const bool from_client = seg.src == c.client.endpoint.address && seg.src_port == c.client.endpoint.port;
        const Side& sender = from_client ? c.client : c.server;
        const bool is_new_syn = pure_syn && sender.base_known && seg.seq != sender.isn;
        if (!is_new_syn) return c;
        reused = true;
        if (!c.ended) end_connection(c, c.reset ? CloseKind::rst : CloseKind::fin);
        table.erase(it);
    }
    evict_if_full();
    auto conn = std::make_unique<Connection>(options);
    Connection& c = *conn;
    c.stream = next_stream++;
    c.first_frame = frame;
    c.first_time = now;
    c.client_listener.host = this;
    c.client_listener.conn = &c;
    c.client_listener.dir = Direction::client_to_server;
    c.server_listener.host = this;
    c.server_listener.conn = &c;
    c.server_listener.dir = Direction::server_to_client;

    bool src_is_client;
    if (seg.has(tcp_flag::syn)) {
        src_is_client = !seg.has(tcp_flag::ack);   // SYN from the client, SYN-ACK from the server
        c.handshake_seen = true;
    } else if (options.port && seg.src_port != seg.dst_port) {
        src_is_client = seg.dst_port == *options.port;
    } else {
        src_is_client = seg.src_port > seg.dst_port;   // servers usually sit on the lower port
    }
    const Endpoint src{seg.src, seg.src_port};
    const Endpoint dst{seg.dst, seg.dst_port};
    c.client.endpoint = src_is_client ? src : dst;
    c.server.endpoint = src_is_client ? dst : src;
    if (!c.handshake_seen) {
        // Picked up mid-stream: infer ESTABLISHED and number bytes from the first one seen.
        c.client.state = TcpState::established;
        c.server.state = TcpState::established;
    } else {
        c.server.state = TcpState::listen;
    }
    ++stats.connections;
    created = true;
    auto [ins, ok] = table.emplace(key, std::move(conn));
    (void)ok;
    return *ins->second;
}

void Engine::Impl::expire() {
    for (auto it = table.begin(); it != table.end();) {
        Connection& c = *it->second;
        const double idle = now - c.last_time;
        if (!c.ended && idle > options.idle_timeout_seconds) end_connection(c, CloseKind::open);
        if (c.ended && idle > options.closed_linger_seconds) {
            retired[it->first] = c.last_time;
            retired_order.push_back(it->first);
            it = table.erase(it);
        } else {
            ++it;
        }
    }
    while (retired.size() > options.max_finished_records && !retired_order.empty()) {
        retired.erase(retired_order.front());
        retired_order.pop_front();
    }
    if (retired_order.size() > 2 * options.max_finished_records + 1024) {
        std::deque<ConnKey> live;
        for (const auto& k : retired_order)
            if (retired.count(k)) live.push_back(k);
        retired_order.swap(live);
    }
}

void Engine::Impl::evict_if_full() {
    if (table.size() < options.max_connections) return;
    // First drop finished connections, then the least recently active open one.
    for (auto it = table.begin(); it != table.end();) {
        if (it->second->ended) it = table.erase(it);
        else ++it;
    }
    if (table.size() < options.max_connections) return;
    auto oldest = std::min_element(table.begin(), table.end(), [](const auto& a, const auto& b) {
        return a.second->last_time < b.second->last_time;
    });
    end_connection(*oldest->second, CloseKind::open);
    table.erase(oldest);
}

void Engine::Impl::on_segment(Connection& c, const TcpSegment& seg, Direction dir) {
    Side& s = c.side(dir);
    Side& r = c.peer(dir);
    c.last_time = now;
    ++s.totals.packets;
    s.totals.bytes += seg.payload_len;
    stats.payload_bytes += seg.payload_len;
    if (c.ended) {
        // Late packets of a finished connection are counted; a late RST is still shown (a
        // client that aborted a download answers every segment still in flight with one),
        // and so is a FIN sent again and its new ACK (the reason TIME-WAIT exists).
        if (!seg.has(tcp_flag::rst)) {
            late_teardown(c, seg, dir);
        } else {
            Reset e = make<Reset>(c);
            e.from = dir;
            e.flags = seg.flags;
            e.seq_raw = seg.seq;
            e.seq_rel = s.base_known ? s.rel(seg.seq) : 0;
            e.client_state_before = c.client.state;
            e.server_state_before = c.server.state;
            e.after_end = true;
            emit(std::move(e));
        }
        return;
    }

    // Relative numbering needs a base for each side. Without a SYN, infer it from the first
    // packet seen (first byte = relative 1) or from the peer's acknowledgment.
    if (!s.base_known && !seg.has(tcp_flag::syn)) {
        s.set_base(seg.seq - 1);
        s.next_offset = 0;
    }
    if (!r.base_known && seg.has(tcp_flag::ack) && !(seg.has(tcp_flag::syn) && !seg.has(tcp_flag::ack))) {
        r.set_base(seg.ack - 1);
        r.next_offset = 0;
    }

    const TcpState client_before = c.client.state;
    const TcpState server_before = c.server.state;

    // RFC 9293 §3.5.2: a RST aborts the connection in any state.
    if (seg.has(tcp_flag::rst)) {
        Reset e = make<Reset>(c);
        e.from = dir;
        e.flags = seg.flags;
        e.seq_raw = seg.seq;
        e.seq_rel = s.base_known ? s.rel(seg.seq) : 0;
        e.client_state_before = client_before;
        e.server_state_before = server_before;
        emit(std::move(e));
        if (seg.payload_len > 0) deliver(c, dir, seg);
        c.client.state = TcpState::closed;
        c.server.state = TcpState::closed;
        c.reset = true;
        if (!c.closed_first) c.closed_first = dir;
        end_connection(c, CloseKind::rst);
        return;
    }

    // Handshake (RFC 9293 §3.5, figure 6).
    if (seg.has(tcp_flag::syn)) {
        Handshake e = make<Handshake>(c);
        e.from = dir;
        e.seq_raw = seg.seq;
        e.ack_raw = seg.has(tcp_flag::ack) ? seg.ack : 0;
        e.window = seg.window;
        e.mss = seg.options.mss;
        e.wscale = seg.options.wscale;
        e.sack_perm = seg.options.sack_permitted;
        e.timestamps = seg.options.ts_val.has_value();
        // A repeated SYN (same ISN) is a retransmission; the first one sets the side's base.
        e.retransmission = s.syn_seen && seg.seq == s.isn;
        const bool first_syn = !s.syn_seen;
        if (first_syn) {
            s.syn_seen = true;
            s.set_base(seg.seq);
        }
        if (!seg.has(tcp_flag::ack)) {
            e.step = 1;
            if (first_syn) {
                // Simultaneous open (RFC 9293 §3.5, figure 8): both sides sent a SYN; each
                // that receives the other's SYN in SYN-SENT moves to SYN-RECEIVED.
                s.state = r.state == TcpState::syn_sent ? TcpState::syn_received : TcpState::syn_sent;
                if (r.state == TcpState::syn_sent) r.state = TcpState::syn_received;
            }
            c.handshake_step = std::max(c.handshake_step, 1);
        } else {
            e.step = 2;
            if (first_syn) s.state = TcpState::syn_received;
            if (!r.base_known) r.set_base(seg.ack - 1);
            e.peer_isn = r.isn;
            e.ack_is_peer_isn_plus_1 = seg.ack == r.isn + 1;
            if ((r.state == TcpState::syn_sent || r.state == TcpState::syn_received) && e.ack_is_peer_isn_plus_1)
                r.state = TcpState::established;
            c.handshake_step = std::max(c.handshake_step, 2);
        }
        e.seq_rel = s.rel(seg.seq);
        e.ack_rel = seg.has(tcp_flag::ack) ? r.rel(seg.ack) : 0;
        e.client_state = c.client.state;
        e.server_state = c.server.state;
        emit(std::move(e));
    }

    bool acks_fin = false;
    if (seg.has(tcp_flag::ack) && !seg.has(tcp_flag::syn)) {
        if (r.state == TcpState::syn_received && seg.ack == r.isn + 1) {
            r.state = TcpState::established;
            if (c.handshake_step == 2 && dir == Direction::client_to_server) {
                c.handshake_step = 3;
                Handshake e = make<Handshake>(c);
                e.step = 3;
                e.from = dir;
                e.seq_raw = seg.seq;
                e.ack_raw = seg.ack;
                e.seq_rel = s.rel(seg.seq);
                e.ack_rel = r.rel(seg.ack);
                e.peer_isn = r.isn;
                e.ack_is_peer_isn_plus_1 = true;
                e.window = seg.window;
                e.client_state = c.client.state;
                e.server_state = c.server.state;
                emit(std::move(e));
            }
        }
        // Does this acknowledge the peer's FIN? (The FIN occupies one sequence number.)
        if (r.fin_sent && !r.fin_acked && seq_after_or_equal(seg.ack, r.fin_seq + 1)) {
            r.fin_acked = true;
            acks_fin = true;
            switch (r.state) {
                case TcpState::fin_wait_1: r.state = TcpState::fin_wait_2; break;
                case TcpState::closing: r.state = TcpState::time_wait; break;
                case TcpState::last_ack: r.state = TcpState::closed; break;
                default: break;
            }
        }
        if (dir == Direction::client_to_server) track_acks(c, seg.ack);
    }

    if (seg.payload_len > 0) deliver(c, dir, seg);

    bool new_fin = false;
    if (seg.has(tcp_flag::fin) && !s.fin_sent) {
        new_fin = true;
        s.fin_sent = true;
        s.fin_seq = seg.seq + seg.payload_len + (seg.has(tcp_flag::syn) ? 1u : 0u);
        s.fin_offset = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.offset_of(s.fin_seq)));
        s.fin_frame = frame;
        s.fin_time = now;
        if (!c.closed_first) c.closed_first = dir;
        // Sender: RFC 9293 §3.6 — ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK.
        switch (s.state) {
            case TcpState::close_wait:
                // A FIN that does not acknowledge the peer's FIN crossed it on the way: a
                // simultaneous close (RFC 9293 §3.6, figure 13), both sides go to CLOSING.
                s.state = (r.fin_sent && !r.fin_acked) ? TcpState::closing : TcpState::last_ack;
                break;
            case TcpState::established:
            case TcpState::syn_received:
            case TcpState::syn_sent: s.state = TcpState::fin_wait_1; break;
            default: break;
        }
        // Receiver: ESTABLISHED → CLOSE-WAIT; FIN-WAIT-1 (own FIN not yet acked) → CLOSING;
        // FIN-WAIT-2 → TIME-WAIT.
        switch (r.state) {
            case TcpState::established:
            case TcpState::syn_received: r.state = TcpState::close_wait; break;
            case TcpState::fin_wait_1: r.state = TcpState::closing; break;
            case TcpState::fin_wait_2: r.state = TcpState::time_wait; break;
            default: break;
        }
        if (s.next_offset >= s.fin_offset && s.ooo.empty()) s.http.eof(frame, listener(c, dir));
    }

    if (new_fin || (acks_fin && c.teardown_step > 0)) {
        Teardown e = teardown_step(c, seg, dir);
        e.fin = new_fin;
        e.acks_fin = acks_fin;
        emit(std::move(e));
    }

    auto done = [](const Side& x) { return x.state == TcpState::closed || x.state == TcpState::time_wait; };
    if (c.client.fin_sent && c.server.fin_sent && done(c.client) && done(c.server))
        end_connection(c, CloseKind::fin);
}

// After the connection ended (both FINs acknowledged, as far as the capture saw): a side that
// sends its FIN again did not get the ACK of it (lost after the capture point, or too late), so
// it is still in LAST-ACK (or CLOSING); the peer in TIME-WAIT answers with a new ACK and starts
// its 2×MSL wait over (RFC 9293 §3.10.7.4).
void Engine::Impl::late_teardown(Connection& c, const TcpSegment& seg, Direction dir) {
    // Only after a close by FINs that both were acknowledged (not after a RST or an idle end).
    if (c.reset || !c.client.fin_acked || !c.server.fin_acked) return;
    Side& s = c.side(dir);
    Side& r = c.peer(dir);
    const bool fin_again = seg.has(tcp_flag::fin) && s.fin_sent && seg.seq + seg.payload_len == s.fin_seq;
    const bool acks_late_fin = seg.has(tcp_flag::ack) && r.fin_resent_frame != 0 && seg.ack == r.fin_seq + 1;
    if (!fin_again && !acks_late_fin) return;
    const std::uint64_t acked_copy = r.fin_resent_frame;
    if (fin_again) {
        s.fin_resent_frame = frame;
        if (s.state == TcpState::closed) s.state = TcpState::last_ack;
        else if (s.state == TcpState::time_wait) s.state = TcpState::closing;
    }
    if (acks_late_fin) {
        r.fin_resent_frame = 0;
        if (r.state == TcpState::last_ack) r.state = TcpState::closed;
        else if (r.state == TcpState::closing) r.state = TcpState::time_wait;
    }
    Teardown e = teardown_step(c, seg, dir);
    e.after_end = true;
    e.fin = fin_again;
    e.acks_fin = acks_late_fin;
    e.fin_frame = fin_again ? s.fin_frame : acked_copy;  // the first copy, or the copy acknowledged
    if (fin_again) e.since_first_fin = now - s.fin_time;
    emit(std::move(e));
}

// The next teardown step: this packet's numbers and both sides' states after it.
Teardown Engine::Impl::teardown_step(Connection& c, const TcpSegment& seg, Direction dir) {
    const Side& s = c.side(dir);
    const Side& r = c.peer(dir);
    Teardown e = make<Teardown>(c);
    e.step = ++c.teardown_step;
    e.from = dir;
    e.flags = seg.flags;
    e.seq_raw = seg.seq;
    e.ack_raw = seg.ack;
    e.seq_rel = s.rel(seg.seq);
    e.ack_rel = seg.has(tcp_flag::ack) ? r.rel(seg.ack) : 0;
    e.len = seg.payload_len;
    e.client_state = c.client.state;
    e.server_state = c.server.state;
    return e;
}

void Engine::Impl::deliver(Connection& c, Direction dir, const TcpSegment& seg) {
    Side& s = c.side(dir);
    const std::uint32_t data_seq = seg.seq + (seg.has(tcp_flag::syn) ? 1u : 0u);
    const std::int64_t start = s.offset_of(data_seq);
    const SegmentOrigin origin{frame, s.rel(data_seq), seg.payload_len, seg.flags, now};
    std::span<const std::uint8_t> data = seg.payload;
    const std::uint32_t missing = seg.missing();
    std::int64_t offset = start;
    // Drop what was already delivered (retransmissions, overlaps).
    const auto next = static_cast<std::int64_t>(s.next_offset);
    if (offset + static_cast<std::int64_t>(seg.payload_len) <= next) return;
    if (offset < next) {
        const auto skip = static_cast<std::size_t>(next - offset);
        data = skip < data.size() ? data.subspan(skip) : std::span<const std::uint8_t>{};
        offset = next;
    }
    const std::uint64_t uoff = static_cast<std::uint64_t>(offset);
    if (dir == Direction::server_to_client && c.unacked.size() < max_segments_tracked)
        c.unacked.push_back({frame, static_cast<std::uint64_t>(start) + seg.payload_len});
    if (uoff == s.next_offset) {
        if (!data.empty()) push_in_order(c, dir, uoff, data, origin);
        if (missing > 0) {
            // The snaplen cut this segment: its tail is missing, never guessed.
            const std::uint64_t lost = static_cast<std::uint64_t>(start) + seg.payload_len - s.next_offset;
            StreamGap g = make<StreamGap>(c);
            g.from = dir;
            g.seq_rel = static_cast<std::uint32_t>(s.next_offset + 1);
            g.bytes = lost;
            emit(std::move(g));
            s.gap_bytes += lost;
            s.http.gap(lost, frame, listener(c, dir));
            s.next_offset += lost;
        }
        pull_in_order(c, dir);
    } else if (!data.empty()) {
        // Out of order: hold it until the hole is filled, within the cap.
        auto& slot = s.ooo[uoff];
        if (slot.data.size() < data.size()) {
            s.ooo_bytes += data.size() - slot.data.size();
            slot.data.assign(data.begin(), data.end());
            slot.origin = origin;
        }
        if (s.ooo_bytes > options.reassembly_cap_bytes) flush_gap(c, dir);
    }
    if (s.fin_sent && s.next_offset >= s.fin_offset && s.ooo.empty())
        s.http.eof(frame, listener(c, dir));
}

void Engine::Impl::push_in_order(Connection& c, Direction dir, std::uint64_t offset,
                                 std::span<const std::uint8_t> data, const SegmentOrigin& origin) {
    Side& s = c.side(dir);
    HttpListener& l = listener(c, dir);
    s.http.feed(offset, data, origin, l);
    s.next_offset = offset + data.size();
}

void Engine::Impl::flush_gap(Connection& c, Direction dir) {
    // The hole before the first buffered segment will not be filled (or we stop waiting):
    // report it and continue from there.
    Side& s = c.side(dir);
    if (s.ooo.empty()) return;
    const std::uint64_t first = s.ooo.begin()->first;
    if (first > s.next_offset) {
        const std::uint64_t lost = first - s.next_offset;
        StreamGap g = make<StreamGap>(c);
        g.from = dir;
        g.seq_rel = static_cast<std::uint32_t>(s.next_offset + 1);
        g.bytes = lost;
        emit(std::move(g));
        s.gap_bytes += lost;
        HttpListener& l = listener(c, dir);
        s.http.gap(lost, frame, l);
        s.next_offset = first;
    }
    pull_in_order(c, dir);
    if (!s.ooo.empty()) flush_gap(c, dir);   // another hole further on
}

void Engine::Impl::pull_in_order(Connection& c, Direction dir) {
    // Deliver buffered segments that the stream has now reached, trimming what overlaps.
    Side& s = c.side(dir);
    while (!s.ooo.empty()) {
        auto it = s.ooo.begin();
        if (it->first > s.next_offset) break;
        OutOfOrder item = std::move(it->second);
        const std::uint64_t item_off = it->first;
        s.ooo_bytes -= item.data.size();
        s.ooo.erase(it);
        const std::uint64_t end = item_off + item.data.size();
        if (end <= s.next_offset) continue;
        std::span<const std::uint8_t> rest(item.data);
        rest = rest.subspan(static_cast<std::size_t>(s.next_offset - item_off));
        push_in_order(c, dir, s.next_offset, rest, item.origin);
    }
}

void Engine::Impl::track_acks(Connection& c, std::uint32_t ack) {
    if (!c.server.base_known) return;
    const std::int64_t ack_off = c.server.offset_of(ack);
    if (ack_off <= 0) return;
    const auto acked = static_cast<std::uint64_t>(ack_off);
    // Cumulative ACK (RFC 9293 §3.4): every byte below `ack` has arrived.
    while (!c.unacked.empty() && c.unacked.front().end <= acked) {
        c.acked[c.unacked.front().frame] = frame;
        c.unacked.pop_front();
        if (c.acked.size() > max_segments_tracked) c.acked.erase(c.acked.begin());
    }
    while (!c.deliveries.empty()) {
        Delivery& d = c.deliveries.front();
        if (d.end_offset > acked) break;
        for (auto& seg : d.segments) {
            if (seg.acked_by != 0) continue;
            const auto it = c.acked.find(seg.frame);
            // A segment shared with the next message counts as acked for this one now.
            seg.acked_by = it != c.acked.end() ? it->second : frame;
        }
        ResponseAcked e = make<ResponseAcked>(c);
        e.from = Direction::client_to_server;
        e.response_index = d.index;
        e.request_uri = d.uri;
        e.status = d.status;
        e.ack_rel = c.server.rel(ack);
        for (const auto& seg : d.segments) e.ack_frames.push_back(seg.acked_by);
        std::sort(e.ack_frames.begin(), e.ack_frames.end());
        e.ack_frames.erase(std::unique(e.ack_frames.begin(), e.ack_frames.end()), e.ack_frames.end());
        e.segments = std::move(d.segments);
        c.deliveries.pop_front();
        emit(std::move(e));
    }
}

void Engine::Impl::on_http(Connection& c, Direction dir, HttpMessage& m) {
    if (dir == Direction::client_to_server) {
        HttpRequest e = make<HttpRequest>(c);
        e.frame = frame;   // completed by this frame (its bytes may come from buffered segments)
        e.method = m.method;
        e.uri = m.uri;
        e.version = m.version;
        e.headers = std::move(m.headers);
        e.header_bytes = m.header_bytes;
        e.body_bytes = m.body_bytes;
        e.headers_truncated = m.headers_truncated;
        e.segments = std::move(m.segments);
        e.index = c.request_count++;
        if (c.requests.size() < max_pending_requests) c.requests.push_back({m.method, m.uri, frame, now});
        ++stats.requests;
        emit(std::move(e));
        return;
    }
    HttpResponse e = make<HttpResponse>(c);
    e.frame = frame;   // completed by this frame (its bytes may come from buffered segments)
    e.status = m.status;
    e.reason = m.reason;
    e.version = m.version;
    e.content_length = m.content_length;
    e.chunked = m.chunked;
    e.chunk_sizes = std::move(m.chunk_sizes);
    e.header_bytes = m.header_bytes;
    e.body_bytes = m.body_bytes;
    e.complete = m.complete;
    e.headers_truncated = m.headers_truncated;
    for (const auto& h : m.headers) {
        if (iequals(h.name, "Content-Range")) e.content_range = h.value;
        if (iequals(h.name, "Content-Type")) {
            e.content_type = h.value;
            e.multipart_byteranges = h.value.size() >= 20 && iequals(h.value.substr(0, 20), "multipart/byteranges");
        }
    }
    e.headers = std::move(m.headers);
    e.segments = m.segments;
    // RFC 9112 §9.3.2: responses answer requests in the order they were sent; an interim
    // 1xx response (except 101) is followed by the final one for the same request.
    const bool interim = m.status >= 100 && m.status < 200 && m.status != 101;
    if (!c.requests.empty()) {
        e.request_method = c.requests.front().method;
        e.request_uri = c.requests.front().uri;
        e.request_frame = c.requests.front().frame;
        e.time_since_request = now - c.requests.front().time;
        if (!m.segments.empty()) e.time_to_first_byte = m.segments.front().time - c.requests.front().time;
        if (!interim) c.requests.pop_front();
    }
    e.index = c.response_count++;
    ++stats.responses;
    if (m.complete && c.deliveries.size() < max_deliveries_tracked) {
        Delivery d;
        d.index = e.index;
        d.uri = e.request_uri;
        d.status = e.status;
        d.end_offset = m.end_offset;
        d.segments = std::move(m.segments);
        for (auto& seg : d.segments) {
            const auto it = c.acked.find(seg.frame);
            if (it != c.acked.end()) seg.acked_by = it->second;
        }
        c.deliveries.push_back(std::move(d));
    }
    emit(std::move(e));
}

void Engine::Impl::end_connection(Connection& c, CloseKind kind) {
    if (c.ended) return;
    // Whatever is still buffered is past a hole that will not be filled now.
    flush_gap(c, Direction::client_to_server);
    flush_gap(c, Direction::server_to_client);
    c.client.http.eof(frame, c.client_listener);
    c.server.http.eof(frame, c.server_listener);
    c.ended = true;
    ConnectionEnd e = make<ConnectionEnd>(c);
    e.client = c.client.endpoint;
    e.server = c.server.endpoint;
    e.close_kind = kind;
    e.closed_first = c.closed_first;
    e.client_state = c.client.state;
    e.server_state = c.server.state;
    e.client_to_server = c.client.totals;
    e.server_to_client = c.server.totals;
    e.requests = c.request_count;
    e.responses = c.response_count;
    e.first_frame = c.first_frame;
    e.duration = c.last_time - c.first_time;
    e.handshake_seen = c.handshake_seen;
    e.gap_bytes = c.client.gap_bytes + c.server.gap_bytes;
    e.completeness = c.seq.completeness();
    e.conn_state = conn_state(c);
    e.history = c.history;
    e.analysis_counts = c.flag_counts;
    e.initial_rtt = c.seq.initial_rtt();
    // Free the per-connection buffers now; the entry stays to absorb late packets.
    c.client.ooo.clear();
    c.server.ooo.clear();
    c.requests.release();
    c.deliveries.release();
    c.unacked.release();
    c.acked.clear();
    c.seq.trim();
    emit(std::move(e));
}

}  // namespace labtool::analysis
