// Static HTTP/1.1 file server: listeners and sessions on Boost.Asio with Beast's push parser
// (read one request, write one response, repeat). Socket calls go through platform/socket_io.hpp:
// on Linux accept4, sendmsg with MSG_MORE and sendfile; elsewhere accept, a gathered send, and
// read + send for files.
#include "labtool/server/server.hpp"

#include "http_util.hpp"
#include "request_handler.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "labtool/platform/clock.hpp"
#include "labtool/platform/process.hpp"
#include "labtool/platform/socket_io.hpp"


#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_set>
#include <utility>

namespace labtool::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
// Sockets and timers bound to io_context's own executor type: no type-erased any_io_executor
// in every handler (the server runs only on io_contexts).
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>, Executor>;

using platform::NativeSocket;

// Deadlines use the coarse monotonic clock (a few milliseconds of resolution on Linux):
// timeouts here are whole seconds.
namespace {
std::int64_t coarse_now_ns() { return platform::coarse_monotonic_ns(); }

constexpr std::uint64_t max_request_body_bytes = 64 * 1024;   // bodies are read and discarded
constexpr std::chrono::seconds send_timeout{30};              // without any progress, slow readers
constexpr std::chrono::seconds linger_timeout{2};             // drain after our FIN, then close
constexpr std::chrono::milliseconds sweep_interval{250};      // how often deadlines are checked
constexpr std::chrono::milliseconds accept_retry_delay{100};  // after EMFILE and friends
constexpr std::size_t linger_buffer_bytes = 4096;
constexpr int max_write_rounds = 16;                          // sends per turn before yielding
constexpr std::uint64_t max_file_chunk = 1024 * 1024;         // bytes per sendfile call
constexpr std::size_t fallback_chunk_bytes = 64 * 1024;       // read + send without sendfile
constexpr std::size_t read_chunk_bytes = 16 * 1024;           // per read from the socket
constexpr int max_accepts_per_turn = 32;                      // then other handlers run first
constexpr std::string_view server_name = "labtool";

// The "server" logger: whatever the program registered under that name, else one on stderr
// (stdout may carry the analysis output, e.g. JSON lines).
std::shared_ptr<spdlog::logger> logger() {
    if (auto l = spdlog::get("server")) return l;
    static std::mutex create_mutex;
    std::lock_guard lock(create_mutex);
    if (auto l = spdlog::get("server")) return l;
    try {
        return spdlog::stderr_color_mt("server");
    } catch (const spdlog::spdlog_ex&) {
        return spdlog::default_logger();
    }
}

// As the portable condition where there is one (Winsock's 10048 is address_in_use, as EADDRINUSE
// is), so callers can compare with std::errc on every OS; else the OS's own code.
std::error_code to_std(const boost::system::error_code& ec) {
    if (!ec) return {};
    if (const auto cond = ec.default_error_condition(); cond.category() == boost::system::generic_category())
        return {cond.value(), std::generic_category()};
    if (ec.category() == boost::system::system_category()) return {ec.value(), std::system_category()};
    return static_cast<std::error_code>(ec);
}

boost::system::error_code to_boost(const std::error_code& ec) {
    if (!ec) return {};
    if (ec.category() == std::generic_category()) return {ec.value(), boost::system::generic_category()};
    return {ec.value(), boost::system::system_category()};
}

std::string format_endpoint(const tcp::endpoint& ep) {
    if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// A host that does not exist here (no IPv6, no such local address) is skipped, not fatal.
bool is_unavailable_address(const boost::system::error_code& ec) {
    return ec == boost::system::errc::address_family_not_supported ||
           ec == boost::system::errc::address_not_available ||
           ec == boost::system::errc::protocol_not_supported;
}

// The Date header changes once a second: format it once per second per thread.
const std::string& cached_http_date() {
    thread_local std::int64_t cached_second = -1;
    thread_local std::string cached;
    const std::int64_t now = platform::coarse_realtime_seconds();  // whole seconds are all a Date has
    if (now != cached_second) {
        cached = detail::http_date(std::chrono::system_clock::time_point{std::chrono::seconds{now}});
        cached_second = now;
    }
    return cached;
}

}  // namespace

namespace detail {

class Session;
class Listener;

// State shared by the Server object, its listeners and sessions. Listeners and sessions hold it
// by shared_ptr, so it outlives the Server until the last handler has run.
struct ServerState {
    ServerState(std::vector<net::io_context*> io_contexts, ServerConfig server_config)
        : ios(std::move(io_contexts)), io(*ios.front()), config(std::move(server_config)), sweep_timer(io.get_executor()) {}

    std::vector<net::io_context*> ios;  // each run by one thread; one listener per address on each
                                        // (fast accept), else new connections spread over them
    std::atomic<std::size_t> next_io{0};  // round robin for the latter
    // Without a listener of its own an io_context would run out of work and its thread return
    // before the first connection is handed to it: held from start() to stop().
    std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running;
    net::io_context& io;                // the first: name lookups and the sweep
    ServerConfig config;
    std::filesystem::path root;  // canonical
    std::unique_ptr<FileServer> files;
    std::atomic<std::uint16_t> port{0};
    std::atomic<std::size_t> connections{0};  // live sessions, for max_connections

    std::mutex mutex;  // guards everything below
    bool started = false;
    std::atomic<bool> stopped{false};  // set under the mutex; read without it on every request
    std::vector<std::shared_ptr<Listener>> listeners;
    // Live sessions. Each removes itself when destroyed, so its memory is freed (and reused, while
    // still in cache) at once, not when some later sweep lets go of a weak_ptr.
    std::unordered_set<Session*> sessions;

    // Deadlines (idle, header, send, linger) are checked by one periodic sweep instead of a timer
    // per connection; cancelled by stop().
    Timer sweep_timer;

    /// Adds a live session; false once stop() has run (the caller then drops the connection).
    bool register_session(Session* session);
    void forget_session(Session* session) {
        std::lock_guard lock(mutex);
        sessions.erase(session);
    }
    /// The live sessions (none that is being destroyed); the caller lets go of them unlocked.
    std::vector<std::shared_ptr<Session>> live_sessions();
    /// Lets each live session check its deadline.
    void sweep();
    bool is_stopped() const { return stopped.load(std::memory_order_acquire); }
};

// "HTTP/1.1 200 OK\r\nServer: labtool\r\nDate: ...\r\n" and so on, appended to `out`.
void append_head(std::string& out, const Response& res, bool keep_alive, std::chrono::seconds keep_alive_timeout) {
    out.append("HTTP/1.1 ");
    out.append(std::to_string(res.status));
    out.push_back(' ');
    out.append(reason_phrase(res.status));
    out.append("\r\nServer: ");
    out.append(server_name);
    out.append("\r\nDate: ");
    out.append(cached_http_date());
    out.append("\r\n");
    out.append(res.fields);
    if (keep_alive) {
        // RFC 9112 section 9.3: HTTP/1.1 persists by default; the explicit header also tells
        // HTTP/1.0 clients, and Keep-Alive advertises when the server will close an idle connection.
        out.append("Connection: keep-alive\r\nKeep-Alive: timeout=");
        out.append(std::to_string(keep_alive_timeout.count()));
        out.append("\r\n\r\n");
    } else {
        out.append("Connection: close\r\n\r\n");
    }
}

// One TCP connection: read a request, write its response, repeat while keep-alive holds.
// All handlers run on the thread of the session's io_context (one thread each, so no strands).
// One deadline, checked by the server's sweep, enforces the idle, header, send and linger
// timeouts: moving it costs no system call.
//
// With the fast accept (Linux) the connection starts as a bare non-blocking descriptor: a
// request that is already there when the connection is accepted is read, answered and (with
// Connection: close) closed with recv, sendmsg and close alone. The descriptor is handed to Asio
// (registered with epoll) only when the session first has to wait for it, which a kept-alive
// connection always does. Elsewhere the session starts with a socket Asio accepted.
class Session : public std::enable_shared_from_this<Session> {
public:
    /// `socket` is either open (accepted by Asio; `fd` is its handle) or not yet (fast accept).
    Session(NativeSocket fd, Socket socket, tcp protocol, std::shared_ptr<ServerState> state)
        : fd_(fd), protocol_(protocol), socket_(std::move(socket)), state_(std::move(state)) {
        // TCP_NODELAY is set once the connection is kept alive (as nginx does): a first
        // response never waits for Nagle.
        ++state_->connections;  // last: from here on the destructor undoes it and closes fd
    }
    ~Session() {
        if (!socket_.is_open() && fd_ != platform::invalid_socket()) platform::close_socket(fd_);  // never handed to Asio
        state_->forget_session(this);
        --state_->connections;
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// "127.0.0.1:54321", for log lines; looked up once, on first use (no system call at all
    /// when nothing is logged).
    const std::string& client() {
        if (client_.empty()) client_ = fd_ != platform::invalid_socket() ? platform::peer_name(fd_) : std::string("?");
        return client_;
    }

    void run() {
        if (state_->config.access_log) client();  // now, while the peer is surely still known
        net::dispatch(socket_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
    }

    /// Thread-safe: closes the socket on the session's own thread, cancelling whatever is pending.
    void close() {
        net::post(socket_.get_executor(), [self = shared_from_this()] { self->hard_close(); });
    }

private:
    enum class Phase { reading, writing, lingering, closed };

    // Hands the descriptor to Asio before the first wait on it (an epoll registration).
    bool ensure_socket() {
        if (socket_.is_open()) return true;
        boost::system::error_code ec;
        socket_.assign(protocol_, fd_, ec);
        if (ec) {
            logger()->debug("server: cannot watch connection {}: {}", client(), ec.message());
            hard_close();
            return false;
        }
        return true;
    }

    // ---- deadline -------------------------------------------------------------------------
    // No timer per connection: the server's sweep (ServerState::sweep, a few times a second)
    // compares each session's deadline with the clock and posts on_deadline to the session's
    // io_context once it has passed. Moving a deadline is one atomic store, never a system call.
    void set_deadline(std::chrono::steady_clock::duration d) {
        deadline_.store(coarse_now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(),
                        std::memory_order_relaxed);
    }

public:
    /// Called by the sweep on any thread: posts on_deadline if this session's deadline passed.
    void check_deadline(std::int64_t now_ns) {
        if (now_ns < deadline_.load(std::memory_order_relaxed)) return;
        if (deadline_posted_.exchange(true, std::memory_order_acq_rel)) return;
        net::post(socket_.get_executor(), beast::bind_front_handler(&Session::on_deadline, shared_from_this()));
    }

private:
    void on_deadline() {
        deadline_posted_.store(false, std::memory_order_release);
        if (phase_ == Phase::closed) return;
        if (coarse_now_ns() < deadline_.load(std::memory_order_relaxed)) return;  // moved later meanwhile
        boost::system::error_code ec;
        switch (phase_) {
            case Phase::reading:
                // Idle keep-alive or slow header: stop reading; on_read decides (close or 408).
                timed_out_ = true;
                if (socket_.is_open()) socket_.cancel(ec);
                break;
            case Phase::writing:
            case Phase::lingering:
            case Phase::closed:
                hard_close();
                break;
        }
    }

    // ---- reading --------------------------------------------------------------------------
    void do_read() {
        if (phase_ == Phase::closed) return;
        phase_ = Phase::reading;
        timed_out_ = false;
        parser_.emplace();
        // Beast counts its limit from where each put() resumes, not from the request's first
        // byte: set to at least the whole head, so that the limit on the head is the one
        // parse_buffer enforces (request line + fields + blank line <= max_header_bytes).
        parser_->header_limit(static_cast<std::uint32_t>(
            std::max(state_->config.max_header_bytes, state_->config.max_request_line_bytes + 2)));
        parser_->body_limit(max_request_body_bytes);
        // Not eager until the head is parsed: put() then stops at the end of the head, so
        // header_bytes_ counts the head alone and its framing is checked before any body byte.
        parser_->eager(false);
        // Pipelined bytes already buffered start the next request at once; otherwise we wait
        // for it as long as the idle keep-alive timeout.
        request_started_ = buffer_.size() > 0;
        header_bytes_ = 0;
        set_deadline(request_started_ ? std::chrono::steady_clock::duration(state_->config.header_timeout)
                                      : std::chrono::steady_clock::duration(state_->config.keep_alive_timeout));
        parse_buffer();
    }

    // Feeds buffered bytes to Beast's push parser (no I/O in the parser); reads more when it
    // needs more. Our own loop, not http::async_read, so that the first byte of a request
    // switches from the idle timeout to the header timeout (slowloris).
    void parse_buffer() {
        beast::error_code ec;
        while (buffer_.size() > 0 && !parser_->is_done()) {
            const bool in_head = !parser_->is_header_done();
            const std::size_t used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (in_head) header_bytes_ += used;  // not eager in the head: put() stops at its end
            if (ec == http::error::need_more) {
                ec = {};
                break;
            }
            if (ec) return on_read_error(ec);
            if (in_head && parser_->is_header_done()) {
                // The whole head is parsed (and nothing of a body yet): its size, then its framing.
                const auto& req = parser_->get();
                if (req.method_string().size() + req.target().size() + 11 > state_->config.max_request_line_bytes)
                    return send_error(414, "The request line is too long.");
                if (header_bytes_ > state_->config.max_header_bytes)
                    return send_error(431, "The request header is too large.");
                if (const auto problem = framing_problem(req); !problem.empty()) return send_error(400, problem);
                parser_->eager(true);
            }
            if (used == 0) break;
        }
        if (!parser_->is_header_done()) {
            // Beast 1.74 applies header_limit to each put() separately (fields are consumed as
            // they are parsed), so the limits on the whole head are enforced here: a request line
            // that has not ended within its limit is 414, a head (request line, fields and the
            // blank line) over max_header_bytes 431.
            if (request_line_too_long()) return send_error(414, "The request line is too long.");
            if (header_bytes_ + buffer_.size() > state_->config.max_header_bytes)
                return send_error(431, "The request header is too large.");
        }
        if (parser_->is_done()) {
            if (state_->config.access_log) started_ = std::chrono::steady_clock::now();
            return on_request();
        }
        read_more();
    }

    // The first read of a connection is one direct recv: the request is usually there already
    // when the connection is accepted. Later reads (and a first one that finds nothing) go
    // through Asio, which reads speculatively and then waits for readiness.
    void read_more() {
        if (first_read_) {
            first_read_ = false;
            const auto buf = buffer_.prepare(read_chunk_bytes);
            platform::IoResult r;
            do {
                r = platform::receive_some(fd_, buf.data(), buf.size());
            } while (r.interrupted());
            if (!r.error && r.bytes > 0) return on_read({}, r.bytes);
            if (!r.error) return on_read(net::error::eof, 0);
            if (!r.would_block()) return on_read(to_boost(r.error), 0);
        }
        if (!ensure_socket()) return;
        socket_.async_read_some(buffer_.prepare(read_chunk_bytes),
                                beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t bytes) {
        if (phase_ == Phase::closed) return;
        if (state_->config.access_log) started_ = std::chrono::steady_clock::now();
        if (ec == net::error::eof) {
            // The client closed: a clean end between requests, or a truncated request.
            return do_close();
        }
        if (ec) return on_read_error(ec);
        buffer_.commit(bytes);
        if (!request_started_) {
            // The first bytes of a request: from now on the header timeout applies.
            request_started_ = true;
            set_deadline(state_->config.header_timeout);
        }
        parse_buffer();
    }

    void on_read_error(beast::error_code ec) {
        if (timed_out_) {
            // RFC 9110 section 15.5.9: a request that did not arrive in time gets 408; an idle
            // keep-alive connection is just closed.
            if (request_started_ && !parser_->is_header_done())
                return send_error(408, "The request header did not arrive in time.");
            return do_close();
        }
        if (ec == http::error::header_limit) {
            // RFC 9112 section 3: a request line over the limit is 414, a large head 431.
            if (request_line_too_long()) return send_error(414, "The request line is too long.");
            return send_error(431, "The request header is too large.");
        }
        if (ec == http::error::body_limit) return send_error(413, "The request body is too large.");
        // Beast's parser takes HTTP/1.0 and 1.1 only. A well-formed request line of another
        // version (HTTP/2.0, HTTP/0.9 …) is 505 (RFC 9110 section 15.6.6); anything else, 400.
        if (ec == http::error::bad_version && request_line_has_other_version())
            return send_error(505, "This server speaks HTTP/1.0 and HTTP/1.1.");
        if (ec.category() == beast::error_code(http::error::end_of_stream).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message) {
            return send_error(400, "Malformed HTTP request.");
        }
        // end_of_stream (client closed), reset, aborted by stop().
        if (ec != http::error::end_of_stream && ec != net::error::operation_aborted)
            logger()->debug("server: connection {} ended: {}", client(), ec.message());
        do_close();
    }

    // "METHOD SP target SP HTTP/d.d" at the head of the buffer (the line Beast refused), with
    // exactly two spaces (RFC 9112 section 3: no whitespace inside the target, so
    // "GET /a b HTTP/1.1" is malformed, 400) and a version other than the two Beast accepts.
    bool request_line_has_other_version() const {
        const auto data = buffer_.cdata();
        const std::string_view buffered(static_cast<const char*>(data.data()), data.size());
        const auto end = buffered.find("\r\n");
        if (end == std::string_view::npos) return false;
        const std::string_view line = buffered.substr(0, end);
        const auto first = line.find(' ');
        const auto sp = line.rfind(' ');
        if (first == std::string_view::npos || first == 0 || sp <= first + 1 || line.find(' ', first + 1) != sp)
            return false;
        if (line.find_first_of("\t\v\f\r\n") != std::string_view::npos) return false;
        const std::string_view v = line.substr(sp + 1);
        const auto digit = [](char c) { return c >= '0' && c <= '9'; };
        return v.size() == 8 && v.substr(0, 5) == "HTTP/" && digit(v[5]) && v[6] == '.' && digit(v[7]) &&
               v != "HTTP/1.0" && v != "HTTP/1.1";
    }

    // Whether the request line has not ended within max_request_line_bytes (plus its CRLF):
    // Beast has not consumed it yet and no LF is buffered early enough.
    bool request_line_too_long() const {
        if (header_bytes_ != 0) return false;  // Beast consumed the request line: it ended in time
        const auto data = buffer_.cdata();
        const std::string_view buffered(static_cast<const char*>(data.data()), data.size());
        const std::size_t limit = state_->config.max_request_line_bytes;
        return buffered.size() > limit && buffered.substr(0, limit + 2).find('\n') == std::string_view::npos;
    }

    // Why a parsed head's message framing is refused (400 and close), or "" if it is fine.
    // RFC 9112 section 6.3: with Transfer-Encoding the body's length is known only when chunked is
    // the final coding; this server decodes no other coding, so it takes exactly "chunked" and
    // nothing else ("xchunked", "chunked, identity", "identity", "gzip, chunked" are refused:
    // Beast would read a request without a body, and its body as the next request: smuggling).
    // Section 6.1: Transfer-Encoding with Content-Length, or in an HTTP/1.0 request, is refused too.
    static std::string_view framing_problem(const http::request_header<>& req) {
        auto [first, last] = req.equal_range(http::field::transfer_encoding);
        if (first == last) return {};
        if (req.find(http::field::content_length) != req.end()) return "Content-Length and Transfer-Encoding together.";
        if (req.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request.";
        std::size_t codings = 0;
        bool chunked = false;
        for (auto it = first; it != last; ++it) {
            std::string_view rest = it->value();
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                std::string_view coding = rest.substr(0, comma);
                rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
                while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
                while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
                if (coding.empty()) continue;  // empty list elements do not count (RFC 9110 section 5.6.1.2)
                ++codings;
                chunked = beast::iequals(coding, "chunked");
            }
        }
        if (codings != 1 || !chunked) return "Unsupported Transfer-Encoding: only \"chunked\" alone is accepted.";
        return {};
    }

    void on_request() {
        const auto& req = parser_->get();
        if (state_->config.access_log) {  // kept for the log line after the response
            method_.assign(req.method_string());
            target_.assign(req.target());
        }
        client_asked_close_ = !req.keep_alive();
        bool keep_alive = req.keep_alive() && !state_->is_stopped();
        const auto& cfg = state_->config;
        const bool head = req.method() == http::verb::head;

        Response res;
        try {
            if (req.method_string().size() + req.target().size() + 11 > cfg.max_request_line_bytes) {
                res = make_error_response(414, head, "The request line is too long.");
                keep_alive = false;
            } else if (req.version() >= 11 && req.count(http::field::host) != 1) {
                // RFC 9112 section 3.2: an HTTP/1.1 request without Host, or with several, is 400.
                res = make_error_response(400, head, "HTTP/1.1 requests need exactly one Host header.");
                keep_alive = false;
            } else if (req.count(http::field::host) > 1) {
                res = make_error_response(400, head, "Several Host headers.");
                keep_alive = false;
            } else if (req.find(http::field::content_length) != req.end() &&
                       req.find(http::field::transfer_encoding) != req.end()) {
                // RFC 9112 section 6.1: both framings at once is how requests are smuggled.
                res = make_error_response(400, head, "Content-Length and Transfer-Encoding together.");
                keep_alive = false;
            } else {
                res = state_->files->handle(req);
            }
        } catch (const std::exception& e) {
            logger()->error("server: {} {}: {}", std::string_view(req.method_string()), std::string_view(req.target()),
                            e.what());
            res = make_error_response(500, false, "Internal error.");
            keep_alive = false;
        }
        send(std::move(res), keep_alive);
    }

    void send_error(unsigned status, std::string_view detail) {
        client_asked_close_ = false;  // the server ends this connection: linger
        method_ = "-";
        target_ = "-";
        send(make_error_response(status, false, detail), false);
    }

    // ---- writing --------------------------------------------------------------------------
    void send(Response&& res, bool keep_alive) {
        phase_ = Phase::writing;
        res_ = std::move(res);
        keep_alive_ = keep_alive;
        head_.clear();
        append_head(head_, res_, keep_alive, state_->config.keep_alive_timeout);
        head_sent_ = 0;
        body_sent_ = 0;
        set_deadline(send_timeout);
        write_loop();
    }

    std::string_view memory_body() const {
        switch (res_.kind) {
            case BodyKind::text: return res_.text;
            case BodyKind::shared:
                return std::string_view(*res_.shared).substr(static_cast<std::size_t>(res_.offset),
                                                             static_cast<std::size_t>(res_.length));
            default: return {};
        }
    }

    // Writes with non-blocking sends until done or would-block (then waits for the socket to
    // become writable). The header and a memory body go out in one gathered send; a file body
    // follows the header with sendfile (Linux) or read + send, the header sent "with more to
    // come" so that both share a segment.
    void write_loop() {
        if (phase_ != Phase::writing) return;
        const NativeSocket fd = fd_;
        const std::string_view body = memory_body();
        const std::uint64_t body_total = res_.body_bytes();
        for (int round = 0; round < max_write_rounds; ++round) {
            platform::IoResult r;
            const std::size_t head_left = head_.size() - head_sent_;
            if (head_left > 0 || (!body.empty() && body_sent_ < body_total)) {
                const std::string_view head_part = std::string_view(head_).substr(head_sent_);
                const std::string_view body_part =
                    !body.empty() && body_sent_ < body_total ? body.substr(static_cast<std::size_t>(body_sent_))
                                                             : std::string_view{};
                // "More" holds back a last partial segment: for the header before a file body,
                // and for a response after which the connection closes, whose close (or
                // shutdown) then sends the data with the FIN in one segment, as nginx's
                // TCP_CORK does: one packet less per connection (MSG_MORE, Linux only).
                const bool more = (res_.kind == BodyKind::file && body_sent_ < body_total) || !keep_alive_;
                r = platform::send_two(fd, head_part, body_part, more);
                if (!r.error) {
                    const std::size_t from_head = std::min(r.bytes, head_left);
                    head_sent_ += from_head;
                    body_sent_ += r.bytes - from_head;
                }
            } else if (res_.kind == BodyKind::file && body_sent_ < body_total) {
                r = send_file_chunk(fd, body_total - body_sent_);
                if (!r.error) body_sent_ += r.bytes;
            } else {
                return on_write_done({});
            }
            if (!r.error && r.bytes > 0) {
                set_deadline(send_timeout);  // progress
                continue;
            }
            if (r.interrupted()) continue;
            if (r.would_block()) {
                if (!ensure_socket()) return;
                socket_.async_wait(Socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
                    if (ec) return self->on_write_done(ec);
                    self->write_loop();
                });
                return;
            }
            if (!r.error) return on_write_done(http::error::short_read);  // the file shrank
            return on_write_done(to_boost(r.error));
        }
        // Fairness: let other connections on this thread run before sending more.
        net::post(socket_.get_executor(), beast::bind_front_handler(&Session::write_loop, shared_from_this()));
    }

    platform::IoResult send_file_chunk(NativeSocket fd, std::uint64_t left) {
        const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(left, max_file_chunk));
        const std::uint64_t offset = res_.offset + body_sent_;
        if (!sendfile_unsupported_) {
            auto r = platform::send_file_range(fd, res_.file, offset, amount);
            if (r.error != std::errc::operation_not_supported) return r;
            sendfile_unsupported_ = true;  // another OS, or a file system without splice support
        }
        // Portable path: read into a buffer and send it.
        if (!file_buffer_) file_buffer_ = std::make_unique<char[]>(fallback_chunk_bytes);
        if (pending_.empty()) {
            const std::int64_t n = platform::read_at(res_.file, file_buffer_.get(), std::min(amount, fallback_chunk_bytes), offset);
            platform::IoResult r;
            if (n < 0) r.error = std::make_error_code(std::errc::io_error);
            if (n <= 0) return r;  // 0 bytes: the file shrank
            pending_ = std::string_view(file_buffer_.get(), static_cast<std::size_t>(n));
        }
        auto r = platform::send_two(fd, pending_, {}, false);
        if (!r.error) pending_.remove_prefix(r.bytes);
        return r;
    }

    void on_write_done(beast::error_code ec) {
        if (state_->config.access_log) {
            const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_);
            if (ec) {
                logger()->info("{} {} {} {} B client {} {:.1f} ms (not completed: {})", method_, target_,
                               res_.status, body_sent_, client(), elapsed.count(), ec.message());
            } else {
                logger()->info("{} {} {} {} B client {} {:.1f} ms", method_, target_, res_.status, body_sent_,
                               client(), elapsed.count());
            }
        }
        res_ = Response{};  // releases the file and the cached buffer
        pending_ = {};
        if (phase_ == Phase::closed) return;
        if (ec) return hard_close();
        if (!keep_alive_) {
            // The client said it sends nothing more (Connection: close, or HTTP/1.0): close at
            // once, as nginx does; the FIN follows the response. When the server ends the
            // connection on its own (an error, stop()) it lingers instead, so that bytes still
            // on their way cannot turn the close into a RST that destroys the response.
            if (client_asked_close_ && buffer_.size() == 0) return hard_close();
            return do_close();
        }
        if (!no_delay_) {
            platform::set_no_delay(fd_);
            no_delay_ = true;
        }
        // The next request: through the executor, not by recursion (pipelined requests, or a
        // client that keeps sending, must not grow the stack).
        net::post(socket_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
    }

    // ---- closing --------------------------------------------------------------------------
    // Graceful close: send our FIN, then read and discard until the client closes too (or a short
    // timeout), so that unread pipelined bytes don't turn our close into a RST that could destroy
    // the response still in flight (RFC 9112 section 9.6).
    void do_close() {
        if (phase_ == Phase::closed || phase_ == Phase::lingering) return;
        phase_ = Phase::lingering;
        if (platform::shutdown_send(fd_)) return hard_close();
        if (!linger_buffer_) linger_buffer_ = std::make_unique<char[]>(linger_buffer_bytes);
        set_deadline(linger_timeout);
        do_linger();
    }

    void do_linger() {
        if (!ensure_socket()) return;
        socket_.async_read_some(net::buffer(linger_buffer_.get(), linger_buffer_bytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (!ec && self->phase_ == Phase::lingering) return self->do_linger();
                                    self->hard_close();
                                });
    }

    void hard_close() {
        if (phase_ == Phase::closed) return;
        phase_ = Phase::closed;
        // close() alone: after the linger the peer has closed, and a shutdown would only fail
        // with ENOTCONN (one wasted system call per connection).
        if (socket_.is_open()) {
            boost::system::error_code ec;
            socket_.close(ec);  // cancels what is pending, leaves epoll, closes fd_
        } else if (fd_ != platform::invalid_socket()) {
            platform::close_socket(fd_);
        }
        fd_ = platform::invalid_socket();
        deadline_.store(never, std::memory_order_relaxed);
    }

    static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
    NativeSocket fd_;  // the connection; owned by socket_ once assigned to it (or accepted by it)
    tcp protocol_;
    Socket socket_;    // not open until the session first waits (ensure_socket)
    std::atomic<std::int64_t> deadline_{never};  // coarse_now_ns() time; read by the sweep
    std::atomic<bool> deadline_posted_{false};
    bool timed_out_ = false;
    bool request_started_ = false;
    std::size_t header_bytes_ = 0;  // bytes of the current request head already parsed
    Phase phase_ = Phase::reading;

    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Response res_;
    bool keep_alive_ = false;
    bool client_asked_close_ = false;
    bool no_delay_ = false;
    bool first_read_ = true;
    std::string head_;
    std::size_t head_sent_ = 0;
    std::uint64_t body_sent_ = 0;
    bool sendfile_unsupported_ = false;
    std::unique_ptr<char[]> file_buffer_;
    std::string_view pending_;

    std::shared_ptr<ServerState> state_;
    std::string client_;
    std::string method_;
    std::string target_;
    std::chrono::steady_clock::time_point started_;
    std::unique_ptr<char[]> linger_buffer_;
};

bool ServerState::register_session(Session* session) {
    std::lock_guard lock(mutex);
    if (stopped) return false;
    sessions.insert(session);
    return true;
}

std::vector<std::shared_ptr<Session>> ServerState::live_sessions() {
    std::vector<std::shared_ptr<Session>> live;
    std::lock_guard lock(mutex);
    live.reserve(sessions.size());
    for (Session* s : sessions) {
        // Null for a session whose destructor waits for this lock: it is gone already.
        if (auto p = s->weak_from_this().lock()) live.push_back(std::move(p));
    }
    return live;  // released by the caller, outside the lock (a last release runs ~Session)
}

void ServerState::sweep() {
    const auto now = coarse_now_ns();
    for (const auto& session : live_sessions()) session->check_deadline(now);
}

void schedule_sweep(const std::shared_ptr<ServerState>& state) {
    state->sweep_timer.expires_after(sweep_interval);
    state->sweep_timer.async_wait([state](beast::error_code ec) {
        if (ec || state->is_stopped()) return;
        state->sweep();
        schedule_sweep(state);
    });
}

// Accepts connections on one address and starts a Session for each.
class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(net::io_context& io, std::shared_ptr<ServerState> state)
        : acceptor_(io.get_executor()), retry_timer_(io.get_executor()), state_(std::move(state)) {}

    /// `reuse_port`: one of several listeners on the same address and port, one per io_context;
    /// the kernel spreads new connections over them (SO_REUSEPORT, fast accept only).
    boost::system::error_code open(const tcp::endpoint& endpoint, bool reuse_port = false) {
        boost::system::error_code ec;
        acceptor_.open(endpoint.protocol(), ec);
        if (ec) return ec;
        ec = to_boost(platform::set_listener_options(acceptor_.native_handle()));
        if (!ec && reuse_port) ec = to_boost(platform::set_reuse_port(acceptor_.native_handle()));
        if (!ec && endpoint.address().is_v6()) {
            // Keep "::" from also taking the IPv4 port, which a separate 0.0.0.0 listener needs.
            acceptor_.set_option(net::ip::v6_only(true), ec);
        }
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
        if (!ec && fast_) acceptor_.non_blocking(true, ec);  // accept_some() accepts until EAGAIN
        protocol_ = endpoint.protocol();
        if (ec) {
            boost::system::error_code ignored;
            acceptor_.close(ignored);
        }
        return ec;
    }

    std::uint16_t local_port() {
        boost::system::error_code ec;
        auto ep = acceptor_.local_endpoint(ec);
        return ec ? 0 : ep.port();
    }

    std::string local_name() {
        boost::system::error_code ec;
        auto ep = acceptor_.local_endpoint(ec);
        return ec ? std::string("?") : format_endpoint(ep);
    }

    void run() { net::dispatch(acceptor_.get_executor(), beast::bind_front_handler(&Listener::do_accept, shared_from_this())); }

    /// Thread-safe: closes the acceptor on its own thread; the pending wait completes as aborted.
    void close() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code ec;
            self->acceptor_.close(ec);
            self->retry_timer_.cancel();
        });
    }

private:
    // Fast accept (Linux): waits until the listening socket is readable, then accepts what is
    // queued with accept4() itself: the new descriptors stay out of Asio (and epoll) until a
    // session has to wait on one. Asio re-arms the listening socket for every wait (epoll_ctl
    // MOD), so a connection that arrives between the EAGAIN that ends accept_some() and the next
    // wait still wakes it. Elsewhere: Asio's async_accept (kqueue, IOCP's AcceptEx), each new
    // connection on the next io_context in turn.
    void do_accept() {
        if (!acceptor_.is_open()) return;
        if (!fast_) {
            auto& io = *state_->ios[state_->next_io.fetch_add(1, std::memory_order_relaxed) % state_->ios.size()];
            acceptor_.async_accept(io.get_executor(), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
            return;
        }
        acceptor_.async_wait(Acceptor::wait_read, beast::bind_front_handler(&Listener::on_ready, shared_from_this()));
    }

    void on_accept(beast::error_code ec, Socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec == net::error::connection_aborted || ec == net::error::interrupted) return do_accept();
        if (ec) return retry_later(ec);
        const NativeSocket fd = socket.native_handle();
        if (auto pec = platform::prepare_connection(fd)) {
            logger()->debug("server: cannot set up a connection: {}", pec.message());
        } else {
            start_session(fd, std::move(socket));
        }
        do_accept();
    }

    void on_ready(beast::error_code ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) return retry_later(ec);
        accept_some();
    }

    void accept_some() {
        if (!acceptor_.is_open()) return;
        for (int i = 0; i < max_accepts_per_turn; ++i) {
            std::error_code err;
            const NativeSocket fd = platform::accept_connection(acceptor_.native_handle(), err);
            if (err) {
                if (err == std::errc::operation_would_block || err == std::errc::resource_unavailable_try_again)
                    return do_accept();
                // The client gave up before we took the connection: take the next one.
                if (err == std::errc::interrupted || err == std::errc::connection_aborted || err == std::errc::protocol_error)
                    continue;
                // Out of descriptors and similar.
                return retry_later(to_boost(err));
            }
            start_session(fd, Socket(acceptor_.get_executor()));
        }
        // More may be queued: let the other handlers of this thread run first.
        net::post(acceptor_.get_executor(), beast::bind_front_handler(&Listener::accept_some, shared_from_this()));
    }

    // Waits a little instead of spinning on accept().
    void retry_later(beast::error_code ec) {
        logger()->warn("server: accept on {} failed: {}", local_name(), ec.message());
        retry_timer_.expires_after(accept_retry_delay);
        retry_timer_.async_wait([self = shared_from_this()](beast::error_code tec) {
            if (!tec) self->do_accept();
        });
    }

    // `socket` is open when Asio accepted the connection (then it owns `fd`), else unopened.
    void start_session(NativeSocket fd, Socket socket) {
        if (state_->connections.load() >= state_->config.max_connections) {
            refuse(fd);
            if (!socket.is_open()) platform::close_socket(fd);
            return;  // an open socket closes itself
        }
        std::shared_ptr<Session> session;
        const bool owned = socket.is_open();
        try {
            session = std::make_shared<Session>(fd, std::move(socket), protocol_, state_);
        } catch (const std::exception& e) {
            if (!owned) platform::close_socket(fd);  // no session owns it
            logger()->error("server: cannot start a session: {}", e.what());
            return;
        }
        try {
            if (state_->register_session(session.get())) session->run();  // else ~Session closes it
        } catch (const std::exception& e) {
            logger()->error("server: cannot start a session: {}", e.what());
        }
    }

    // Over max_connections: one best-effort 503 (non-blocking, never waits) and close, so the
    // client learns why instead of hanging in the listen backlog.
    void refuse(NativeSocket fd) {
        static constexpr std::string_view busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 20\r\nRetry-After: 1\r\nConnection: close\r\n\r\nToo many connections";
        (void)platform::send_two(fd, busy, {}, false);  // non-blocking since accept
        // Read what the client already sent (its request): a close with unread bytes would be a
        // RST, which can destroy the 503 before the client reads it.
        char discard[4096];
        for (int i = 0; i < 16; ++i) {
            const auto r = platform::receive_some(fd, discard, sizeof discard);
            if (r.error || r.bytes == 0) break;
        }
        if (!warned_full_.exchange(true))
            logger()->warn("server: {} connections open (the limit): refusing more with 503",
                           state_->config.max_connections);
    }

    std::atomic<bool> warned_full_{false};
    const bool fast_ = platform::fast_accept_supported();
    Acceptor acceptor_;
    tcp protocol_ = tcp::v4();
    Timer retry_timer_;
    std::shared_ptr<ServerState> state_;
};

// Whether `endpoint` can be bound by a socket without SO_REUSEPORT (the port is free).
boost::system::error_code probe_bind(net::io_context& io, const tcp::endpoint& endpoint) {
    tcp::acceptor probe(io);
    boost::system::error_code ec;
    probe.open(endpoint.protocol(), ec);
    if (!ec) ec = to_boost(platform::set_listener_options(probe.native_handle()));
    if (!ec && endpoint.address().is_v6()) probe.set_option(net::ip::v6_only(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    boost::system::error_code ignored;
    probe.close(ignored);
    return ec;
}

}  // namespace detail

struct Server::Impl {
    std::shared_ptr<detail::ServerState> state;
};

Server::Server(net::io_context& io, ServerConfig config) : Server(std::vector<net::io_context*>{&io}, std::move(config)) {}

Server::Server(std::vector<net::io_context*> ios, ServerConfig config) {
    if (ios.empty() || std::find(ios.begin(), ios.end(), nullptr) != ios.end())
        throw std::invalid_argument("labtool::server::Server needs at least one io_context");
    impl_ = std::make_shared<Impl>(Impl{std::make_shared<detail::ServerState>(std::move(ios), std::move(config))});
}

Server::~Server() { stop(); }

std::error_code Server::start() {
    auto& st = *impl_->state;
    std::lock_guard lock(st.mutex);
    if (st.started || st.stopped) return std::make_error_code(std::errc::operation_not_permitted);

    std::error_code fec;
    auto root = std::filesystem::canonical(st.config.root, fec);
    if (fec) return fec;
    if (!std::filesystem::is_directory(root, fec)) return std::make_error_code(std::errc::not_a_directory);
    st.root = root;
    detail::FileServerOptions fo;
    fo.allow_dotfiles = st.config.allow_dotfiles;
    fo.list_dirs = st.config.list_dirs;
    fo.cors = st.config.cors;
    fo.cache_seconds = st.config.cache_seconds;
    st.files = std::make_unique<detail::FileServer>(root, fo, fec);
    if (fec) return fec;

    std::uint16_t port = st.config.port;
    std::error_code skipped;
    std::vector<std::shared_ptr<detail::Listener>> listeners;
    auto fail = [&](const boost::system::error_code& ec) {
        for (auto& l : listeners) l->close();
        return to_std(ec);
    };

    for (const auto& host : st.config.hosts) {
        std::vector<net::ip::address> addresses;
        boost::system::error_code ec;
        auto address = net::ip::make_address(host, ec);
        if (!ec) {
            addresses.push_back(address);
        } else {
            // A name such as "localhost": bind every address it resolves to.
            tcp::resolver resolver(st.io);
            auto results = resolver.resolve(host, "", tcp::resolver::passive, ec);
            if (ec) {
                logger()->warn("server: cannot resolve {}: {}; skipping it", host, ec.message());
                if (!skipped) skipped = to_std(ec);
                continue;
            }
            for (const auto& r : results) {
                if (std::find(addresses.begin(), addresses.end(), r.endpoint().address()) == addresses.end())
                    addresses.push_back(r.endpoint().address());
            }
        }
        for (const auto& a : addresses) {
            // Several io_contexts: one listener each on the same address and port (SO_REUSEPORT).
            // A plain bind first, so that a port somebody else uses, even with SO_REUSEPORT
            // (another labtool, say), is reported as in use instead of being shared.
            const bool several = st.ios.size() > 1 && platform::fast_accept_supported();
            if (several && port != 0) ec = detail::probe_bind(st.io, tcp::endpoint(a, port));
            std::size_t opened = 0;
            for (auto* io : st.ios) {
                if (opened > 0 && !several) break;  // one listener; connections spread by do_accept
                if (ec) break;
                auto listener = std::make_shared<detail::Listener>(*io, impl_->state);
                // With port 0 the first bind picks an ephemeral port; the other hosts reuse it so
                // every address serves on the same port.
                ec = listener->open(tcp::endpoint(a, port), several);
                if (ec) break;
                if (port == 0) port = listener->local_port();
                listeners.push_back(std::move(listener));
                ++opened;
            }
            if (ec && opened == 0 && is_unavailable_address(ec)) {
                logger()->warn("server: {} is not available on this machine ({}); skipping it", a.to_string(),
                               ec.message());
                if (!skipped) skipped = to_std(ec);
                continue;
            }
            if (ec) {
                logger()->error("server: cannot listen on {}: {}",
                                format_endpoint(tcp::endpoint(a, port)), ec.message());
                return fail(ec);
            }
        }
    }
    if (listeners.empty()) return skipped ? skipped : std::make_error_code(std::errc::address_not_available);

    st.port = port;
    st.started = true;
    if (!platform::fast_accept_supported())
        for (std::size_t i = 1; i < st.ios.size(); ++i) st.keep_running.emplace_back(st.ios[i]->get_executor());
    st.listeners = listeners;
    for (auto& l : listeners) {
        logger()->debug("server: serving {} on {}", platform::to_utf8(st.root), l->local_name());
        l->run();
    }
    net::post(st.sweep_timer.get_executor(), [state = impl_->state] { detail::schedule_sweep(state); });
    return {};
}

void Server::stop() {
    if (!impl_) return;
    auto& st = *impl_->state;
    std::vector<std::shared_ptr<detail::Listener>> listeners;
    {
        std::lock_guard lock(st.mutex);
        if (st.stopped) return;
        st.stopped = true;
        listeners.swap(st.listeners);
        for (auto& guard : st.keep_running) guard.reset();
    }
    const auto sessions = st.live_sessions();
    // Each close is posted to the object's own io_context, so stop() may be called from any thread.
    net::post(st.sweep_timer.get_executor(), [state = impl_->state] { state->sweep_timer.cancel(); });
    for (auto& l : listeners) l->close();
    for (const auto& s : sessions) s->close();
}

std::uint16_t Server::port() const noexcept { return impl_->state->port.load(); }

std::filesystem::path builtin_www_root() {
    std::vector<std::filesystem::path> candidates;
    std::error_code ec;
    const auto exe = platform::executable_path();
    if (!exe.empty()) {
        const auto dir = exe.parent_path();
        candidates.push_back(dir / "www");                              // build tree; Windows zip
        candidates.push_back(dir / ".." / "share" / "labtool" / "www");  // installed
    }
#ifdef LABTOOL_SOURCE_WWW
    candidates.emplace_back(LABTOOL_SOURCE_WWW);  // source tree
#endif
    for (const auto& c : candidates) {
        if (std::filesystem::is_regular_file(c / "index.html", ec)) return c.lexically_normal();
    }
    return {};
}

}  // namespace labtool::server
