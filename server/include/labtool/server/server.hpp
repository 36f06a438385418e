// Static HTTP/1.1 file server (Boost.Asio + Boost.Beast): GET/HEAD, keep-alive, conditional
// requests, byte ranges, small files from memory and sendfile for large ones.
// Runs on io_contexts the caller owns, each run by one thread (give several to use several cores);
// never lets an exception escape a handler.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace labtool::server {

struct ServerConfig {
    std::filesystem::path root;                        // folder served (must exist)
    std::vector<std::string> hosts{"127.0.0.1", "::1"}; // addresses to bind
    std::uint16_t port = 3000;
    std::chrono::seconds keep_alive_timeout{5};        // idle time before the server closes
    bool access_log = true;                            // one spdlog info line per request ("quiet" = false)

    // Content. Defaults: the safe choices (hidden dotfiles, no listings, always revalidate).
    bool allow_dotfiles = false;       // serve names starting with '.' (else 404)
    bool list_dirs = false;            // a directory without index.html gets a listing (else 404)
    std::uint32_t cache_seconds = 0;   // Cache-Control: public, max-age=N
    bool cors = false;                 // Access-Control-Allow-Origin: * on files

    // Transport limits (RFC 9112 section 2.3 / RFC 9110 section 15.5.15 and .5.20).
    std::chrono::seconds header_timeout{30};   // from a request's first byte to its complete header
                                               // (slowloris); long enough to type a request in nc
    std::size_t max_request_line_bytes = 8 * 1024;  // longer request line -> 414
    std::size_t max_header_bytes = 16 * 1024;       // whole head (request line, fields, CRLF) -> 431
    std::size_t max_connections = 512;              // more concurrent connections -> 503 and close
};

class Server {
public:
    /// Serves on `io`, which must be run by one thread at a time (handlers use no strands).
    Server(boost::asio::io_context& io, ServerConfig config);
    /// Uses several cores: one listener per address on each io_context (SO_REUSEPORT, so the
    /// kernel spreads connections over them), each io_context run by its own single thread.
    /// Throws std::invalid_argument if `ios` is empty.
    Server(std::vector<boost::asio::io_context*> ios, ServerConfig config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds and listens on every host. Returns an error (e.g. address in use) without throwing;
    /// a host that does not exist on this machine (no ::1) is skipped with a warning as long as
    /// at least one address was bound.
    std::error_code start();

    /// Closes the listeners and every open connection (posted to the io_context).
    void stop();

    /// The port actually bound (useful with port 0).
    [[nodiscard]] std::uint16_t port() const noexcept;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

/// The folder holding the built-in lab page: beside the executable (build tree: <exe dir>/www,
/// install: <prefix>/share/labtool/www), else the source tree's www/. Empty path if none exists.
std::filesystem::path builtin_www_root();

}  // namespace labtool::server
