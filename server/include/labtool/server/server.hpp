// Static HTTP/1.1 file server (Boost.Asio + Boost.Beast): GET/HEAD, keep-alive, byte ranges.
// Runs on an io_context the caller owns; never lets an exception escape a handler.
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
    bool access_log = true;                            // one spdlog info line per request
};

class Server {
public:
    Server(boost::asio::io_context& io, ServerConfig config);
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
