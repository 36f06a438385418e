// The engine: decode → connection table → per-side TCP state and reassembly → HTTP → events.
// Everything is driven by packet order and packet time; nothing here does I/O.
#include "labtool/analysis/engine.hpp"

#include "labtool/analysis/decode.hpp"
#include "labtool/analysis/http_stream.hpp"
#include "labtool/analysis/seq_analysis.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <list>
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

std::string_view close_pattern_name(ClosePattern p) noexcept {
    switch (p) {
        case ClosePattern::three_packet: return "three_packet";
        case ClosePattern::four_packet: return "four_packet";
        case ClosePattern::simultaneous: return "simultaneous";
        case ClosePattern::rst: return "rst";
        case ClosePattern::open: return "open";
    }
    return "open";
}

std::string_view segment_limit_name(SegmentLimit l) noexcept {
    switch (l) {
        case SegmentLimit::mss: return "mss";
        case SegmentLimit::window: return "window";
        case SegmentLimit::write_end: return "write_end";
        case SegmentLimit::unknown: return "unknown";
    }
    return "unknown";
}

std::string_view checksum_status_name(ChecksumStatus c) noexcept {
    switch (c) {
        case ChecksumStatus::valid: return "valid";
        case ChecksumStatus::invalid: return "invalid";
        case ChecksumStatus::not_computed: return "not_computed";
        case ChecksumStatus::unverified: return "unverified";
    }
    return "unverified";
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
constexpr std::size_t ooo_entry_cost = 128;             // bytes an out-of-order entry costs beyond its data
constexpr std::size_t max_parallel_scan = 256;        // connections compared with a new one
constexpr std::size_t max_state_changes = 32;         // per side; a connection has about 6

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
    // Eight bytes at a time with a multiply-xorshift mix: cheap, and every input bit reaches the
    // bucket index (connections of a flood differ in a few address and port bits).
    static std::uint64_t word(const std::uint8_t* p) noexcept {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        return w;
    }
    std::size_t operator()(const ConnKey& k) const noexcept {
        std::uint64_t h = (std::uint64_t{k.port_a} << 16 | k.port_b) * 0x9E3779B97F4A7C15ull;
        for (const std::uint64_t w : {word(k.a.bytes.data()), word(k.a.bytes.data() + 8), word(k.b.bytes.data()),
                                      word(k.b.bytes.data() + 8)}) {
            h ^= w + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
            h *= 0xBF58476D1CE4E5B9ull;
            h ^= h >> 31;
        }
        return static_cast<std::size_t>(h);
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
    std::vector<StateChange> states;      // every change, from the first frame (capped)
    TcpState before_peer_fin = TcpState::closed;   // its state when the peer's FIN came
    std::optional<double> keep_alive_timeout;      // from its last response's Keep-Alive header
    std::uint32_t data_option_bytes = 0;           // TCP options in its latest data segment

    /// Enters `next` with frame `at` (RFC 9293 transitions only; the callers decide which).
    void go(TcpState next, std::uint64_t at) {
        if (next == state) return;
        state = next;
        if (states.size() < max_state_changes) states.push_back({next, at});
    }
    /// Forgets a state this side passed through within frame `at` without resting in it.
    void drop_transient(TcpState passed, std::uint64_t at) {
        for (auto it = states.begin(); it != states.end(); ++it)
            if (it->state == passed && it->frame == at) {
                states.erase(it);
                return;
            }
    }

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
    std::uint64_t segment_count = 0;
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
    ConnKey key;
    std::list<Connection*>::iterator lru;   // its place in Impl::open_lru or ended_lru
    bool lru_ended = false;
    bool crossed = false;             // the FINs crossed (simultaneous close)
    bool pairing_stopped = false;     // too many requests waited for answers: no more pairing
    bool fin_merged = false;          // the second FIN rode on the ACK of the first
    std::optional<std::uint32_t> alongside;   // opened while this stream (same client, same server) was open
    ChecksumCounts checksums;
    double prev_time = 0.0;           // time of the packet before the current one

    explicit Connection(const EngineOptions& o) : client(true, o), server(false, o) {}
    Side& side(Direction d) { return d == Direction::client_to_server ? client : server; }
    Side& peer(Direction d) { return d == Direction::client_to_server ? server : client; }
};

}  // namespace

namespace {

/// "timeout=5, max=100" → 5 (RFC 2068 §19.7.1.1, still sent by servers for HTTP/1.0 clients).
std::optional<double> keep_alive_timeout(std::string_view value) {
    for (std::size_t at = 0; at < value.size();) {
        std::size_t end = value.find(',', at);
        if (end == std::string_view::npos) end = value.size();
        std::string_view item = value.substr(at, end - at);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        if (item.size() > 8 && iequals(item.substr(0, 8), "timeout=")) {
            double n = 0;
            bool digits = false;
            for (char ch : item.substr(8)) {
                if (ch < '0' || ch > '9') break;
                n = n * 10 + (ch - '0');
                digits = true;
            }
            if (digits && n <= 86400) return n;
        }
        at = end + 1;
    }
    return std::nullopt;
}

/// Content-Range "bytes first-last/complete" (RFC 9110 §14.4); false for any other form.
bool parse_content_range(std::string_view v, std::uint64_t& first, std::uint64_t& last, std::uint64_t& complete) {
    if (v.size() < 6 || !iequals(v.substr(0, 6), "bytes ")) return false;
    v.remove_prefix(6);
    auto number = [&v](std::uint64_t& out) {
        out = 0;
        std::size_t i = 0;
        for (; i < v.size() && i < 19 && v[i] >= '0' && v[i] <= '9'; ++i) out = out * 10 + static_cast<std::uint64_t>(v[i] - '0');
        v.remove_prefix(i);
        return i > 0;
    };
    if (!number(first) || v.empty() || v.front() != '-') return false;
    v.remove_prefix(1);
    if (!number(last) || v.empty() || v.front() != '/') return false;
    v.remove_prefix(1);
    return number(complete) && v.empty() && first <= last;
}

/// How big `sender`'s segments could be (the receiver's MSS less the options they carry) and
/// were, and how many an Ethernet link (MTU 1500) would need for `total` bytes.
SegmentSizing sizing_of(const Connection& c, Direction sender, std::uint32_t largest, std::uint64_t largest_frame,
                        std::uint64_t total) {
    const Side& s = sender == Direction::client_to_server ? c.client : c.server;
    const Side& r = sender == Direction::client_to_server ? c.server : c.client;
    SegmentSizing z;
    z.ipv6 = s.endpoint.address.v6;
    z.ip_header = z.ipv6 ? 40 : 20;
    z.option_bytes = s.data_option_bytes;
    if (r.totals.mss) {
        z.mss_known = true;
        z.mss = *r.totals.mss;
        z.largest_ip_packet = z.mss + z.ip_header + 20;
        z.max_payload = z.mss > z.option_bytes ? z.mss - z.option_bytes : 0;
    }
    z.largest = largest;
    z.largest_frame = largest_frame;
    z.ethernet_mss = 1500 - z.ip_header - 20;
    z.ethernet_payload = z.ethernet_mss - z.option_bytes;
    z.ethernet_segments = (total + z.ethernet_payload - 1) / z.ethernet_payload;
    return z;
}

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
    /// Connections by last activity (least recent first): open ones, and ended ones waiting
    /// to be freed; eviction takes the front in O(1) (a SYN flood fills the table).
    std::list<Connection*> open_lru;
    std::list<Connection*> ended_lru;
    double last_expiry = 0.0;
    std::uint32_t next_stream = 0;
    bool have_first = false;
    Timestamp first_ts;
    bool finished = false;

    /// The first FIN's teardown step, held until the next packet shows whether the FINs crossed.
    struct Held {
        Teardown event;
        ConnKey key;
        TcpState receiver_before;   // the receiver's state before that FIN (if they crossed)
    };
    std::optional<Held> held;
    bool window_full_now = false;   // the current packet filled the receiver's window
    std::size_t ooo_total = 0;      // out-of-order bytes buffered over all connections

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
    void release_held(const TcpSegment* next);
    Connection& lookup(const TcpSegment& seg, bool& created, bool& reused);
    void analyze_packet(Connection& c, const TcpSegment& seg, Direction dir, std::int64_t ts_ns, bool reused);
    void add_history(Connection& c, Direction dir, char letter, bool repeatable = false);
    void on_segment(Connection& c, const TcpSegment& seg, Direction dir);
    void late_teardown(Connection& c, const TcpSegment& seg, Direction dir);
    Teardown teardown_step(Connection& c, const TcpSegment& seg, Direction dir);
    void deliver(Connection& c, Direction dir, const TcpSegment& seg);
    void push_in_order(Connection& c, Direction dir, std::uint64_t offset, std::span<const std::uint8_t> data,
                       const SegmentOrigin& origin);
    void flush_gap(Connection& c, Direction dir, GapReason reason = GapReason::not_captured);
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
    void retire(Connection& c);
    void forget(Connection& c) { (c.lru_ended ? ended_lru : open_lru).erase(c.lru); }
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

void Engine::skip_frames(std::uint64_t n) noexcept {
    impl_->stats.frames += n;
    impl_->stats.skipped_frames += n;
}

void Engine::flush(const Sink& sink) {
    impl_->sink = &sink;
    impl_->release_held(nullptr);
    impl_->sink = nullptr;
}

void Engine::finish(const Sink& sink) {
    if (impl_->finished) return;
    impl_->finished = true;
    impl_->sink = &sink;
    impl_->release_held(nullptr);
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

namespace {

// Timestamps of any value (year 2500, year 292 billion, negative) without signed overflow.
constexpr std::int64_t ts_ns_limit = (std::int64_t{1} << 62) - 1;

/// f.ts in nanoseconds since 1970, saturated to +-(2^62 - 1) (about 1824 to 2116): the
/// sequence analysis subtracts two of these, and such a difference always fits an int64.
std::int64_t saturated_ns(const Timestamp& t) {
    constexpr std::int64_t billion = 1'000'000'000;
    constexpr std::int64_t max_sec = ts_ns_limit / billion;
    if (t.sec > max_sec) return ts_ns_limit;
    if (t.sec < -max_sec) return -ts_ns_limit;
    const std::int64_t ns = t.sec * billion + t.nsec;  // fits: |sec| <= max_sec, nsec < 2^32
    return std::clamp(ns, -ts_ns_limit, ts_ns_limit);
}

/// a - b in seconds, exact for ordinary stamps and without overflow for any.
double seconds_between(const Timestamp& a, const Timestamp& b) {
    const bool fits = b.sec >= 0 ? a.sec >= std::numeric_limits<std::int64_t>::min() + b.sec
                                 : a.sec <= std::numeric_limits<std::int64_t>::max() + b.sec;
    const double whole = fits ? static_cast<double>(a.sec - b.sec) : static_cast<double>(a.sec) - static_cast<double>(b.sec);
    return whole + (static_cast<double>(a.nsec) - static_cast<double>(b.nsec)) / 1e9;
}

}  // namespace

void Engine::Impl::process(const Frame& f) {
    ++stats.frames;
    frame = stats.frames;
    if (!have_first) {
        have_first = true;
        first_ts = f.ts;
        stats.first_time = static_cast<double>(f.ts.sec) + f.ts.nsec / 1e9;
    }
    // Capture timestamps can step backwards; time is still measured from the first frame.
    now = seconds_between(f.ts, first_ts);
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
    release_held(&seg);
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
        e.alongside = c.alongside;
        emit(std::move(e));
    }
    const std::int64_t ts_ns = saturated_ns(f.ts);
    analyze_packet(c, seg, dir, ts_ns, reused);
    on_segment(c, seg, dir);
}

// Emits the held FIN step. When `next` is the receiver's FIN and does not acknowledge the held
// one, the FINs crossed: the receiver had not got the first FIN when it sent its own, so it
// did not enter CLOSE-WAIT with it.
void Engine::Impl::release_held(const TcpSegment* next) {
    if (!held) return;
    Held h = std::move(*held);
    held.reset();
    if (next != nullptr && next->has(tcp_flag::fin) && make_key(*next) == h.key) {
        const auto it = table.find(h.key);
        if (it != table.end() && it->second->stream == h.event.stream) {
            const Connection& c = *it->second;
            const bool from_client =
                next->src == c.client.endpoint.address && next->src_port == c.client.endpoint.port;
            const Direction from = from_client ? Direction::client_to_server : Direction::server_to_client;
            const Side& sender = from == Direction::client_to_server ? c.server : c.client;
            const bool acks = next->has(tcp_flag::ack) && seq_after_or_equal(next->ack, sender.fin_seq + 1);
            if (from != h.event.from && !acks) {
                h.event.crossed = true;
                (from == Direction::client_to_server ? h.event.client_state : h.event.server_state) = h.receiver_before;
            }
        }
    }
    emit(std::move(h.event));
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
    window_full_now = pa.has(AnalysisFlag::window_full);
    if (!seg.src.v6) ++c.checksums.ipv4[static_cast<std::size_t>(seg.ip_checksum)];
    ++c.checksums.tcp[static_cast<std::size_t>(seg.tcp_checksum)];
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
    e.ip_checksum = seg.ip_checksum;
    e.tcp_checksum = seg.tcp_checksum;
    e.option_bytes = seg.option_bytes;
    e.ts_val = seg.options.ts_val;
    e.ts_ecr = seg.options.ts_ecr;
    // SACK edges are in the peer's sequence space: relative to the same base as `ack`.
    const std::uint32_t peer_base = e.ack_raw - e.ack_rel;
    for (const auto& [left, right] : pa.sack) e.sack_rel.emplace_back(left - peer_base, right - peer_base);
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
        forget(c);
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
        c.client.go(TcpState::established, frame);
        c.server.go(TcpState::established, frame);
    } else {
        c.client.states.push_back({TcpState::closed, frame});
        c.server.go(TcpState::listen, frame);
    }
    // Browsers open a few connections to one server in parallel: is another still open? (Only
    // looked for in captures of a lab's size; a large table is not scanned per connection.)
    if (table.size() <= max_parallel_scan) {
        for (const auto& [other_key, other] : table)
            if (!other->ended && other->client.endpoint.address == c.client.endpoint.address &&
                other->server.endpoint.address == c.server.endpoint.address &&
                other->server.endpoint.port == c.server.endpoint.port &&
                (!c.alongside || other->stream > *c.alongside))
                c.alongside = other->stream;
    }
    ++stats.connections;
    created = true;
    c.key = key;
    c.lru = open_lru.insert(open_lru.end(), &c);
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
            forget(c);
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
    // First a finished connection (the one that ended first), else the least recently active
    // open one; its key is remembered so its late packets are counted, not a new connection.
    Connection* victim = !ended_lru.empty() ? ended_lru.front() : !open_lru.empty() ? open_lru.front() : nullptr;
    if (victim == nullptr) return;
    // An open connection ended here is freed without a record (as a SYN flood's would be: a
    // late packet of it starts a new connection); a finished one keeps its record.
    const bool was_finished = victim->ended;
    if (!was_finished) end_connection(*victim, CloseKind::open);
    if (was_finished) {
        retire(*victim);
    } else {
        forget(*victim);
        table.erase(victim->key);
    }
}

void Engine::Impl::retire(Connection& c) {
    const ConnKey key = c.key;
    retired[key] = c.last_time;
    retired_order.push_back(key);
    forget(c);
    table.erase(key);
}

void Engine::Impl::on_segment(Connection& c, const TcpSegment& seg, Direction dir) {
    Side& s = c.side(dir);
    Side& r = c.peer(dir);
    c.prev_time = c.last_time;
    c.last_time = now;
    if (!c.ended) open_lru.splice(open_lru.end(), open_lru, c.lru);   // most recently active
    ++s.totals.packets;
    s.totals.bytes += seg.payload_len;
    if (seg.payload_len > s.totals.largest_segment) {
        s.totals.largest_segment = seg.payload_len;
        s.totals.largest_frame = frame;
    }
    if (seg.options.ts_val && !seg.has(tcp_flag::syn)) s.totals.timestamps = true;
    if (seg.payload_len > 0) s.data_option_bytes = seg.option_bytes;
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
        c.client.go(TcpState::closed, frame);
        c.server.go(TcpState::closed, frame);
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
        if (seg.options.mss) s.totals.mss = seg.options.mss;
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
                s.go(r.state == TcpState::syn_sent ? TcpState::syn_received : TcpState::syn_sent, frame);
                if (r.state == TcpState::syn_sent) r.go(TcpState::syn_received, frame);
            }
            c.handshake_step = std::max(c.handshake_step, 1);
        } else {
            e.step = 2;
            if (first_syn) s.go(TcpState::syn_received, frame);
            if (!r.base_known) r.set_base(seg.ack - 1);
            e.peer_isn = r.isn;
            e.ack_is_peer_isn_plus_1 = seg.ack == r.isn + 1;
            if ((r.state == TcpState::syn_sent || r.state == TcpState::syn_received) && e.ack_is_peer_isn_plus_1)
                r.go(TcpState::established, frame);
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
            r.go(TcpState::established, frame);
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
                case TcpState::fin_wait_1: r.go(TcpState::fin_wait_2, frame); break;
                case TcpState::closing: r.go(TcpState::time_wait, frame); break;
                case TcpState::last_ack: r.go(TcpState::closed, frame); break;
                default: break;
            }
        }
        if (dir == Direction::client_to_server) track_acks(c, seg.ack);
    }

    if (seg.payload_len > 0) deliver(c, dir, seg);

    bool new_fin = false;
    bool crossing = false;
    if (seg.has(tcp_flag::fin) && !s.fin_sent) {
        new_fin = true;
        s.fin_sent = true;
        s.fin_seq = seg.seq + seg.payload_len + (seg.has(tcp_flag::syn) ? 1u : 0u);
        s.fin_offset = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.offset_of(s.fin_seq)));
        s.fin_frame = frame;
        s.fin_time = now;
        if (!c.closed_first) c.closed_first = dir;
        // A FIN that does not acknowledge the peer's earlier FIN crossed it on the way: its
        // sender had not received the peer's FIN when it sent its own, so it never was in
        // CLOSE-WAIT (RFC 9293 §3.6, figure 13: simultaneous close).
        crossing = r.fin_sent && !r.fin_acked && s.state == TcpState::close_wait;
        if (crossing) {
            c.crossed = true;
            s.drop_transient(TcpState::close_wait, r.fin_frame);
            s.state = s.before_peer_fin;
        }
        // Sender: RFC 9293 §3.6 — ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK.
        switch (s.state) {
            case TcpState::close_wait: s.go(TcpState::last_ack, frame); break;
            case TcpState::established:
            case TcpState::syn_received:
            case TcpState::syn_sent: s.go(TcpState::fin_wait_1, frame); break;
            default: break;
        }
        // Crossed: the peer's FIN reaches it in FIN-WAIT-1 → CLOSING.
        if (crossing && s.state == TcpState::fin_wait_1) s.go(TcpState::closing, frame);
        // Receiver: ESTABLISHED → CLOSE-WAIT; FIN-WAIT-1 (own FIN not yet acked) → CLOSING;
        // FIN-WAIT-2 → TIME-WAIT.
        switch (r.state) {
            case TcpState::established:
            case TcpState::syn_received:
                r.before_peer_fin = r.state;
                r.go(TcpState::close_wait, frame);
                break;
            case TcpState::fin_wait_1: r.go(TcpState::closing, frame); break;
            case TcpState::fin_wait_2: r.go(TcpState::time_wait, frame); break;
            default: break;
        }
        // The second FIN rides on the ACK of the first: its receiver goes FIN-WAIT-1 →
        // TIME-WAIT within this one packet, never resting in FIN-WAIT-2.
        if (acks_fin) {
            c.fin_merged = true;
            r.drop_transient(TcpState::fin_wait_2, frame);
        }
        if (s.next_offset >= s.fin_offset && s.ooo.empty()) s.http.eof(frame, listener(c, dir));
    }

    if (new_fin || (acks_fin && c.teardown_step > 0)) {
        const bool first_fin = new_fin && !r.fin_sent;
        Teardown e = teardown_step(c, seg, dir);
        e.fin = new_fin;
        e.acks_fin = acks_fin;
        e.crossed = crossing;
        e.merged_with_ack = new_fin && acks_fin;
        e.skips_fin_wait_2 = e.merged_with_ack && r.state == TcpState::time_wait;
        if (c.client.state == TcpState::time_wait && client_before != TcpState::time_wait)
            e.enters_time_wait = Direction::client_to_server;
        else if (c.server.state == TcpState::time_wait && server_before != TcpState::time_wait)
            e.enters_time_wait = Direction::server_to_client;
        if (new_fin && r.fin_sent) e.after_peer_fin = now - r.fin_time;
        if (first_fin) {
            e.idle_before = now - c.prev_time;
            e.keep_alive_timeout = s.keep_alive_timeout;
            // A server that closes after the idle time it announced (Keep-Alive: timeout=N).
            e.idle_close = seg.payload_len == 0 && s.keep_alive_timeout &&
                           *e.idle_before >= *s.keep_alive_timeout * 0.9 &&
                           *e.idle_before <= *s.keep_alive_timeout + 1.0;
        }
        if (first_fin && r.state == TcpState::close_wait) {
            // Whether the FINs crossed shows only in the next packet: hold this one until then.
            held = Held{std::move(e), make_key(seg), r.before_peer_fin};
        } else {
            emit(std::move(e));
        }
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
    // What ended this segment here: the receiver's MSS (less the options it carries), the
    // receiver's window, or the end of one write by the sender (PSH).
    SegmentLimit limit = SegmentLimit::unknown;
    const auto& receiver_mss = c.peer(dir).totals.mss;
    if (receiver_mss && seg.payload_len + seg.option_bytes >= *receiver_mss) limit = SegmentLimit::mss;
    else if (window_full_now) limit = SegmentLimit::window;
    else if (seg.has(tcp_flag::psh)) limit = SegmentLimit::write_end;
    const SegmentOrigin origin{frame, s.rel(data_seq), seg.payload_len, seg.flags, now, limit};
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
        // Each entry costs its bytes plus its bookkeeping (map node, vector): a million
        // one-byte segments are 100+ MB, not 1 MB.
        const auto [slot_it, added] = s.ooo.try_emplace(uoff);
        auto& slot = slot_it->second;
        const std::size_t grow = (added ? ooo_entry_cost : 0) + (data.size() > slot.data.size() ? data.size() - slot.data.size() : 0);
        if (data.size() > slot.data.size()) {
            slot.data.assign(data.begin(), data.end());
            slot.origin = origin;
        }
        s.ooo_bytes += grow;
        ooo_total += grow;
        // Bounded memory: per direction, and for all connections together (the one that just
        // grew gives up its hole, so the total never exceeds the budget after a packet).
        if (s.ooo_bytes > options.reassembly_cap_bytes || ooo_total > options.max_buffered_bytes)
            flush_gap(c, dir, GapReason::buffer_full);
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

void Engine::Impl::flush_gap(Connection& c, Direction dir, GapReason reason) {
    // The holes before the buffered segments will not be filled (or we stop waiting): report
    // each and go on from there. A loop, not recursion: the input decides how many holes.
    Side& s = c.side(dir);
    while (!s.ooo.empty()) {
        const std::uint64_t first = s.ooo.begin()->first;
        if (first > s.next_offset) {
            const std::uint64_t lost = first - s.next_offset;
            StreamGap g = make<StreamGap>(c);
            g.from = dir;
            g.seq_rel = static_cast<std::uint32_t>(s.next_offset + 1);
            g.bytes = lost;
            g.reason = reason;
            emit(std::move(g));
            s.gap_bytes += lost;
            HttpListener& l = listener(c, dir);
            s.http.gap(lost, frame, l);
            s.next_offset = first;
        }
        pull_in_order(c, dir);
    }
}

void Engine::Impl::pull_in_order(Connection& c, Direction dir) {
    // Deliver buffered segments that the stream has now reached, trimming what overlaps.
    Side& s = c.side(dir);
    while (!s.ooo.empty()) {
        auto it = s.ooo.begin();
        if (it->first > s.next_offset) break;
        OutOfOrder item = std::move(it->second);
        const std::uint64_t item_off = it->first;
        s.ooo_bytes -= item.data.size() + ooo_entry_cost;
        ooo_total -= item.data.size() + ooo_entry_cost;
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
        e.segment_count = d.segment_count;
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
        e.segment_count = m.segment_count;
        e.index = c.request_count++;
        // Was another connection of this client to this server still busy with a request?
        if (table.size() <= max_parallel_scan)
            for (const auto& [key, other] : table)
                if (other.get() != &c && !other->ended && !other->requests.empty() &&
                    other->client.endpoint.address == c.client.endpoint.address &&
                    other->server.endpoint.address == c.server.endpoint.address &&
                    other->server.endpoint.port == c.server.endpoint.port &&
                    (!e.busy_stream || other->stream < *e.busy_stream)) {
                    e.busy_stream = other->stream;
                    e.busy_uri = other->requests.front().uri;
                }
        // Past the limit of requests waiting for answers, responses can no longer be paired
        // with certainty: pairing stops on this connection (said once, in this request).
        if (!c.pairing_stopped && c.requests.size() >= max_pending_requests) {
            c.pairing_stopped = true;
            e.pairing_stopped = true;
            c.requests.clear();
        }
        if (!c.pairing_stopped) c.requests.push_back({m.method, m.uri, frame, now});
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
    if (const auto& cr = e.content_range) {
        std::uint64_t first = 0, last = 0, complete = 0;
        if (parse_content_range(*cr, first, last, complete)) {
            e.range_first = first;
            e.range_last = last;
            e.range_complete = complete;
            e.range_whole_file = first == 0 && last + 1 == complete;
        }
    }
    for (const auto& h : m.headers)
        if (iequals(h.name, "Keep-Alive")) {
            e.keep_alive_timeout = keep_alive_timeout(h.value);
            c.side(dir).keep_alive_timeout = e.keep_alive_timeout;
        }
    e.psh_segments = m.psh_segments;
    e.ended_by_mss = m.ended_by_mss;
    e.ended_by_window = m.ended_by_window;
    e.ended_by_write = m.ended_by_write;
    e.segment_count = m.segment_count;
    e.sizing = sizing_of(c, dir, m.largest, m.largest_frame, m.header_bytes + m.body_bytes);
    if (!m.complete) {
        e.cut_by_reset = c.reset;
        if (m.content_length && *m.content_length > m.body_bytes) e.bytes_missing = *m.content_length - m.body_bytes;
    }
    e.headers = std::move(m.headers);
    e.segments = m.segments;
    // RFC 9112 §9.3.2: responses answer requests in the order they were sent; an interim
    // 1xx response (except 101) is followed by the final one for the same request.
    const bool interim = m.status >= 100 && m.status < 200 && m.status != 101;
    e.interim = interim;
    if (!c.requests.empty()) {
        e.request_method = c.requests.front().method;
        e.request_uri = c.requests.front().uri;
        e.request_frame = c.requests.front().frame;
        // To its last byte seen (an incomplete response is emitted later, at the RST or the end).
        e.time_since_request = (m.segments.empty() ? now : m.segments.back().time) - c.requests.front().time;
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
        d.segment_count = m.segment_count;
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
    ended_lru.splice(ended_lru.end(), open_lru, c.lru);
    c.lru_ended = true;
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
    e.teardown_packets = static_cast<std::uint32_t>(c.teardown_step);
    if (kind == CloseKind::rst) e.close_pattern = ClosePattern::rst;
    else if (kind == CloseKind::open || !c.client.fin_sent || !c.server.fin_sent) e.close_pattern = ClosePattern::open;
    else if (c.crossed) e.close_pattern = ClosePattern::simultaneous;
    else if (c.fin_merged) e.close_pattern = ClosePattern::three_packet;
    else e.close_pattern = ClosePattern::four_packet;
    e.client_states = c.client.states;
    e.server_states = c.server.states;
    e.checksums = c.checksums;
    e.unused = c.request_count == 0 && c.client.totals.bytes == 0;
    e.preconnect = e.unused && c.handshake_seen && c.alongside.has_value();
    e.alongside = c.alongside;
    // Free the per-connection buffers now; the entry stays to absorb late packets.
    ooo_total -= c.client.ooo_bytes + c.server.ooo_bytes;
    c.client.ooo_bytes = c.server.ooo_bytes = 0;
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
