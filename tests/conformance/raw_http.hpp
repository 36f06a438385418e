// A raw-socket HTTP/1.1 client for the conformance suite: requests go out byte for byte as
// written (so "..", "%2e" and "//" reach the server exactly), responses are parsed minimally,
// and every wait is bounded by poll() with a deadline.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conformance {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto io_timeout = 5s;

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
}

struct HttpResponse {
    int status = 0;
    std::string status_line;
    std::vector<std::pair<std::string, std::string>> headers;  // names as sent
    std::string body;

    /// First value of a header (case-insensitive name), or nothing.
    std::optional<std::string> header(std::string_view name) const {
        const auto n = lower(name);
        for (const auto& [k, v] : headers) {
            if (lower(k) == n) return v;
        }
        return std::nullopt;
    }
    bool has(std::string_view name) const { return header(name).has_value(); }
    std::size_t count(std::string_view name) const {
        std::size_t c = 0;
        const auto n = lower(name);
        for (const auto& [k, v] : headers) c += lower(k) == n ? 1 : 0;
        return c;
    }
    /// All headers except Date, as "name: value" lines (for HEAD vs GET comparisons).
    std::vector<std::string> headers_without_date() const {
        std::vector<std::string> out;
        for (const auto& [k, v] : headers) {
            if (lower(k) != "date") out.push_back(lower(k) + ": " + v);
        }
        return out;
    }
};

class Connection {
public:
    explicit Connection(std::uint16_t port, const char* address = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket() failed");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        ::inet_pton(AF_INET, address, &addr.sin_addr);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        connect_errno_ = connected_ ? 0 : errno;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Connection() {
        if (fd_ >= 0) ::close(fd_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool connected() const { return connected_; }
    int connect_errno() const { return connect_errno_; }

    std::uint16_t local_port() const {
        sockaddr_in addr{};
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        return ntohs(addr.sin_port);
    }

    /// Writes all of `bytes` (bounded by io_timeout). False on error.
    bool send(std::string_view bytes) {
        const auto deadline = Clock::now() + io_timeout;
        while (!bytes.empty()) {
            if (!wait(POLLOUT, deadline)) return false;
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads one response. `head`: the request was HEAD (no body follows whatever the headers
    /// say). Nothing on timeout, EOF before a complete response, or a malformed head.
    std::optional<HttpResponse> read_response(bool head = false, std::chrono::milliseconds timeout = io_timeout) {
        const auto deadline = Clock::now() + timeout;
        std::size_t end = 0;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(deadline)) return std::nullopt;
        }
        HttpResponse res;
        std::string_view head_text(buffer_.data(), end);
        auto eol = head_text.find("\r\n");
        res.status_line = std::string(head_text.substr(0, eol));
        if (res.status_line.size() < 12 || res.status_line.substr(0, 5) != "HTTP/") return std::nullopt;
        res.status = std::stoi(res.status_line.substr(9, 3));
        std::string_view rest = eol == std::string_view::npos ? std::string_view{} : head_text.substr(eol + 2);
        while (!rest.empty()) {
            const auto e = rest.find("\r\n");
            const auto line = rest.substr(0, e);
            rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 2);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) return std::nullopt;
            auto value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            res.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
        }
        buffer_.erase(0, end + 4);
        std::optional<std::size_t> length;
        if (auto cl = res.header("Content-Length")) length = std::stoull(*cl);
        const bool no_body = head || res.status == 304 || res.status == 204 || (res.status >= 100 && res.status < 200);
        if (no_body) return res;
        if (!length) {  // until close
            while (fill(deadline)) {
            }
            res.body = std::move(buffer_);
            buffer_.clear();
            return res;
        }
        while (buffer_.size() < *length) {
            if (!fill(deadline)) return std::nullopt;
        }
        res.body = buffer_.substr(0, *length);
        buffer_.erase(0, *length);
        return res;
    }

    /// Sends `request` and reads its response.
    std::optional<HttpResponse> exchange(std::string_view request, bool head = false) {
        if (!send(request)) return std::nullopt;
        return read_response(head);
    }

    /// True if the server closes (EOF or reset) within `timeout` without sending anything more.
    bool closed_by_server(std::chrono::milliseconds timeout = io_timeout) {
        if (!buffer_.empty()) return false;
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            if (!wait(POLLIN, deadline)) return false;
            char c = 0;
            const ssize_t n = ::recv(fd_, &c, 1, 0);
            if (n == 0) return true;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno == ECONNRESET;
            buffer_.push_back(c);
            return false;
        }
    }

    /// Bytes received but not yet consumed by read_response.
    const std::string& leftover() const { return buffer_; }

    /// Reads whatever arrives within `timeout` (for "nothing left on the wire" checks).
    std::string drain(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (fill(deadline)) {
        }
        std::string out = std::move(buffer_);
        buffer_.clear();
        return out;
    }

private:
    bool wait(short events, Clock::time_point deadline) {
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p{fd_, events, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left));
            if (r < 0 && errno == EINTR) continue;
            return r > 0;
        }
    }

    // Appends what is readable before the deadline; false on timeout, EOF or error.
    bool fill(Clock::time_point deadline) {
        if (!wait(POLLIN, deadline)) return false;
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    bool connected_ = false;
    int connect_errno_ = 0;
    std::string buffer_;
};

/// "GET <target> HTTP/1.1\r\nHost: 127.0.0.1\r\n<extra>\r\n".
inline std::string request(std::string_view method, std::string_view target, std::string_view extra = {},
                           std::string_view version = "HTTP/1.1") {
    std::string r;
    r.append(method).append(" ").append(target).append(" ").append(version).append("\r\n");
    r.append("Host: 127.0.0.1\r\n");
    r.append(extra);
    r.append("\r\n");
    return r;
}

}  // namespace conformance
