// Static HTTP/1.1 file server: listeners and sessions on Boost.Beast, modelled on Beast's
// example/http/server/async/http_server_async.cpp (read one request, write one response, repeat).
#include "labtool/server/server.hpp"

#include "http_util.hpp"
#include "request_handler.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <utility>

namespace labtool::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::uint32_t max_header_bytes = 16 * 1024;         // request line + header fields
constexpr std::uint64_t max_request_body_bytes = 64 * 1024;   // bodies are read and discarded
constexpr std::chrono::seconds write_timeout{60};             // whole response, slow readers
constexpr std::chrono::seconds linger_timeout{2};             // drain after our FIN, then close
constexpr std::chrono::milliseconds accept_retry_delay{100};  // after EMFILE and friends
constexpr std::size_t linger_buffer_bytes = 4096;
constexpr std::string_view server_name = "labtool";

std::shared_ptr<spdlog::logger> logger() {
    if (auto l = spdlog::get("server")) return l;
    return spdlog::default_logger();
}

std::error_code to_std(const boost::system::error_code& ec) {
    if (!ec) return {};
    if (ec.category() == boost::system::system_category()) return {ec.value(), std::system_category()};
    if (ec.category() == boost::system::generic_category()) return {ec.value(), std::generic_category()};
    return static_cast<std::error_code>(ec);
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

}  // namespace

namespace detail {

class Session;
class Listener;

// State shared by the Server object, its listeners and sessions. Listeners and sessions hold it
// by shared_ptr, so it outlives the Server until the last handler has run.
struct ServerState {
    ServerState(net::io_context& io_context, ServerConfig server_config)
        : io(io_context), config(std::move(server_config)) {}

    net::io_context& io;
    ServerConfig config;
    std::filesystem::path root;  // canonical
    std::atomic<std::uint16_t> port{0};

    std::mutex mutex;  // guards everything below
    bool started = false;
    bool stopped = false;
    std::vector<std::shared_ptr<Listener>> listeners;
    std::vector<std::weak_ptr<Session>> sessions;

    /// Adds a live session; false once stop() has run (the caller then drops the connection).
    bool register_session(const std::shared_ptr<Session>& session);
    bool is_stopped() {
        std::lock_guard lock(mutex);
        return stopped;
    }
};

// One TCP connection: read a request, write its response, repeat while keep-alive holds.
// All handlers run on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, std::shared_ptr<ServerState> state)
        : stream_(std::move(socket)), state_(std::move(state)) {
        boost::system::error_code ec;
        auto ep = stream_.socket().remote_endpoint(ec);
        client_ = ec ? std::string("?") : format_endpoint(ep);
    }

    void run() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this())); }

    /// Thread-safe: closes the socket on the session's strand, cancelling whatever is pending.
    void close() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            self->closed_ = true;
            boost::system::error_code ec;
            self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
            self->stream_.socket().close(ec);
        });
    }

private:
    void do_read() {
        if (closed_) return;
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        parser_->body_limit(max_request_body_bytes);
        // Idle keep-alive timeout (also bounds a slow request): when it fires, tcp_stream closes
        // the socket and on_read sees beast::error::timeout.
        stream_.expires_after(state_->config.keep_alive_timeout);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t /*bytes*/) {
        if (closed_) return;
        if (ec) {
            if (ec == http::error::header_limit) {
                return send_error(http::status::request_header_fields_too_large, "Request header too large.");
            }
            if (ec == http::error::body_limit) {
                return send_error(http::status::payload_too_large, "Request body too large.");
            }
            if (ec.category() == beast::error_code(http::error::end_of_stream).category() && ec != http::error::end_of_stream &&
                ec != http::error::partial_message) {
                return send_error(http::status::bad_request, "Malformed HTTP request.");
            }
            // end_of_stream (client closed), timeout (idle keep-alive), reset, aborted by stop().
            if (ec != http::error::end_of_stream && ec != beast::error::timeout)
                logger()->debug("server: connection {} ended: {}", client_, ec.message());
            return do_close();
        }

        started_ = std::chrono::steady_clock::now();
        detail::Request req = parser_->release();
        method_ = std::string(req.method_string());
        target_ = std::string(req.target());
        bool keep_alive = req.keep_alive() && !state_->is_stopped();

        detail::Response res;
        try {
            if (req.version() >= 11 && req.find(http::field::host) == req.end()) {
                // RFC 9112 section 3.2: an HTTP/1.1 request without Host gets 400.
                res = make_error_response(http::status::bad_request, req.method() == http::verb::head,
                                          "HTTP/1.1 requests need a Host header.");
                keep_alive = false;
            } else {
                res = handle_request(req, state_->root);
            }
        } catch (const std::exception& e) {
            logger()->error("server: {} {}: {}", method_, target_, e.what());
            res = make_error_response(http::status::internal_server_error, false, "Internal error.");
            keep_alive = false;
        }
        send(std::move(res), keep_alive);
    }

    void send_error(http::status status, std::string_view detail) {
        method_ = "-";
        target_ = "-";
        started_ = std::chrono::steady_clock::now();
        send(make_error_response(status, false, detail), false);
    }

    void send(detail::Response&& res, bool keep_alive) {
        res_ = std::move(res);
        auto& fields = response_fields(res_);
        fields.set(http::field::server, server_name);
        fields.set(http::field::date, http_date(std::chrono::system_clock::now()));
        if (keep_alive) {
            // RFC 9112 section 9.3: HTTP/1.1 persists by default; the explicit header also tells
            // HTTP/1.0 clients, and Keep-Alive advertises when the server will close an idle connection.
            fields.set(http::field::connection, "keep-alive");
            fields.set(http::field::keep_alive,
                       "timeout=" + std::to_string(state_->config.keep_alive_timeout.count()));
        } else {
            fields.erase(http::field::keep_alive);
            fields.set(http::field::connection, "close");
        }
        stream_.expires_after(write_timeout);
        std::visit(
            [&](auto& msg) {
                http::async_write(stream_, msg,
                                  beast::bind_front_handler(&Session::on_write, shared_from_this(), keep_alive));
            },
            res_);
    }

    void on_write(bool keep_alive, beast::error_code ec, std::size_t /*bytes*/) {
        if (state_->config.access_log && method_ != "-") {
            const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_);
            const std::uint64_t body_bytes = method_ == "HEAD" ? 0 : response_body_bytes(res_);
            if (ec) {
                logger()->info("{} {} {} {} B client {} {:.1f} ms (not completed: {})", method_, target_,
                               response_status(res_), body_bytes, client_, elapsed.count(), ec.message());
            } else {
                logger()->info("{} {} {} {} B client {} {:.1f} ms", method_, target_, response_status(res_),
                               body_bytes, client_, elapsed.count());
            }
        }
        res_ = detail::Response{};  // releases the file
        if (ec || closed_) return do_close();
        if (!keep_alive) return do_close();
        do_read();
    }

    // Graceful close: send our FIN, then read and discard until the client closes too (or a short
    // timeout), so that unread pipelined bytes don't turn our close into a RST that could destroy
    // the response still in flight (RFC 9112 section 9.6).
    void do_close() {
        if (closed_) return;
        closed_ = true;
        boost::system::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) {
            stream_.socket().close(ec);
            return;
        }
        linger_buffer_ = std::make_unique<char[]>(linger_buffer_bytes);
        stream_.expires_after(linger_timeout);
        do_linger();
    }

    void do_linger() {
        stream_.async_read_some(net::buffer(linger_buffer_.get(), linger_buffer_bytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (!ec) return self->do_linger();
                                    boost::system::error_code ignored;
                                    self->stream_.socket().close(ignored);
                                });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    detail::Response res_;
    std::shared_ptr<ServerState> state_;
    std::string client_;
    std::string method_;
    std::string target_;
    std::chrono::steady_clock::time_point started_;
    std::unique_ptr<char[]> linger_buffer_;
    bool closed_ = false;
};

bool ServerState::register_session(const std::shared_ptr<Session>& session) {
    std::lock_guard lock(mutex);
    if (stopped) return false;
    std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    sessions.push_back(session);
    return true;
}

// Accepts connections on one address and starts a Session for each.
class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(net::io_context& io, std::shared_ptr<ServerState> state)
        : io_(io), acceptor_(net::make_strand(io)), retry_timer_(acceptor_.get_executor()), state_(std::move(state)) {}

    boost::system::error_code open(const tcp::endpoint& endpoint) {
        boost::system::error_code ec;
        acceptor_.open(endpoint.protocol(), ec);
        if (ec) return ec;
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec && endpoint.address().is_v6()) {
            // Keep "::" from also taking the IPv4 port, which a separate 0.0.0.0 listener needs.
            acceptor_.set_option(net::ip::v6_only(true), ec);
        }
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
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

    /// Thread-safe: closes the acceptor on its strand; the pending accept completes as aborted.
    void close() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code ec;
            self->acceptor_.close(ec);
            self->retry_timer_.cancel();
        });
    }

private:
    void do_accept() {
        if (!acceptor_.is_open()) return;
        acceptor_.async_accept(net::make_strand(io_), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            // Out of descriptors and similar: wait a little instead of spinning on accept().
            logger()->warn("server: accept on {} failed: {}", local_name(), ec.message());
            retry_timer_.expires_after(accept_retry_delay);
            retry_timer_.async_wait([self = shared_from_this()](beast::error_code tec) {
                if (!tec) self->do_accept();
            });
            return;
        }
        try {
            auto session = std::make_shared<Session>(std::move(socket), state_);
            if (state_->register_session(session)) session->run();
        } catch (const std::exception& e) {
            logger()->error("server: cannot start a session: {}", e.what());
        }
        do_accept();
    }

    net::io_context& io_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    std::shared_ptr<ServerState> state_;
};

}  // namespace detail

struct Server::Impl {
    std::shared_ptr<detail::ServerState> state;
};

Server::Server(net::io_context& io, ServerConfig config)
    : impl_(std::make_shared<Impl>(Impl{std::make_shared<detail::ServerState>(io, std::move(config))})) {}

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
            auto listener = std::make_shared<detail::Listener>(st.io, impl_->state);
            // With port 0 the first bind picks an ephemeral port; the other hosts reuse it so
            // every address serves on the same port.
            ec = listener->open(tcp::endpoint(a, port));
            if (ec && is_unavailable_address(ec)) {
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
            if (port == 0) port = listener->local_port();
            listeners.push_back(std::move(listener));
        }
    }
    if (listeners.empty()) return skipped ? skipped : std::make_error_code(std::errc::address_not_available);

    st.port = port;
    st.started = true;
    st.listeners = listeners;
    for (auto& l : listeners) {
        logger()->debug("server: serving {} on {}", st.root.string(), l->local_name());
        l->run();
    }
    return {};
}

void Server::stop() {
    if (!impl_) return;
    auto& st = *impl_->state;
    std::vector<std::shared_ptr<detail::Listener>> listeners;
    std::vector<std::weak_ptr<detail::Session>> sessions;
    {
        std::lock_guard lock(st.mutex);
        if (st.stopped) return;
        st.stopped = true;
        listeners.swap(st.listeners);
        sessions.swap(st.sessions);
    }
    // Each close is posted to the object's own strand, so stop() may be called from any thread.
    for (auto& l : listeners) l->close();
    for (auto& w : sessions) {
        if (auto s = w.lock()) s->close();
    }
}

std::uint16_t Server::port() const noexcept { return impl_->state->port.load(); }

std::filesystem::path builtin_www_root() {
    std::vector<std::filesystem::path> candidates;
    std::error_code ec;
#ifdef __linux__
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto dir = exe.parent_path();
        candidates.push_back(dir / "www");                              // build tree
        candidates.push_back(dir / ".." / "share" / "labtool" / "www");  // installed
    }
#endif
#ifdef LABTOOL_SOURCE_WWW
    candidates.emplace_back(LABTOOL_SOURCE_WWW);  // source tree
#endif
    for (const auto& c : candidates) {
        if (std::filesystem::is_regular_file(c / "index.html", ec)) return c.lexically_normal();
    }
    return {};
}

}  // namespace labtool::server
