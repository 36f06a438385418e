// labtool_traffic: a tiny HTTP/1.1 server and client (plain POSIX sockets) that make the TCP
// situations the oracle tests need — keep-alive, pipelining, half-close, abortive close (RST),
// slow readers behind tiny receive buffers (zero window), large transfers under loss. Every mode
// is bounded in time; nothing here ever talks to anything but the address it is given.
//
//   labtool_traffic serve  --port P [--bind ADDR] [--linger0] [--slow-reader] [--rcvbuf N]
//                          [--body-bytes N] [--max-seconds S]
//   labtool_traffic client --host H --port P [--requests K] [--pipeline] [--half-close]
//                          [--path /bytes/N] [--upload-bytes N] [--rcvbuf N] [--read-slowly]
//                          [--connections C]
//
// The server answers every request with a Content-Length body: N bytes for /bytes/N, otherwise
// --body-bytes. It reads (and discards) a request body given by Content-Length. It prints
// "ready" on stdout once it listens, and exits after --max-seconds (default 60) or on SIGTERM.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int io_timeout_seconds = 20;          // every blocking socket call is bounded
constexpr std::size_t max_header_bytes = 16384;
constexpr std::size_t slow_read_chunk = 2048;   // a slow reader takes this much at a time …
constexpr auto slow_read_pause = 250ms;         // … then sleeps this long (> the 200 ms min RTO)

std::atomic<bool> stop_requested{false};

void on_signal(int) { stop_requested = true; }

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "labtool_traffic: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

struct Options {
    std::string mode;
    std::string host = "127.0.0.1";
    std::string bind_addr = "127.0.0.1";
    int port = 0;
    bool linger0 = false;
    bool slow_reader = false;
    int rcvbuf = 0;
    std::size_t body_bytes = 1000;
    int max_seconds = 60;
    int requests = 1;
    bool pipeline = false;
    bool half_close = false;
    std::string path = "/";
    std::size_t upload_bytes = 0;
    bool read_slowly = false;
    int connections = 1;
};

Options parse(int argc, char** argv) {
    Options o;
    if (argc < 2) {
        std::fprintf(stderr, "usage: labtool_traffic serve|client [options]\n");
        std::exit(2);
    }
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "labtool_traffic: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--port") o.port = std::stoi(next());
        else if (a == "--host") o.host = next();
        else if (a == "--bind") o.bind_addr = next();
        else if (a == "--linger0") o.linger0 = true;
        else if (a == "--slow-reader") o.slow_reader = true;
        else if (a == "--rcvbuf") o.rcvbuf = std::stoi(next());
        else if (a == "--body-bytes") o.body_bytes = std::stoull(next());
        else if (a == "--max-seconds") o.max_seconds = std::stoi(next());
        else if (a == "--requests") o.requests = std::stoi(next());
        else if (a == "--pipeline") o.pipeline = true;
        else if (a == "--half-close") o.half_close = true;
        else if (a == "--path") o.path = next();
        else if (a == "--upload-bytes") o.upload_bytes = std::stoull(next());
        else if (a == "--read-slowly") o.read_slowly = true;
        else if (a == "--connections") o.connections = std::stoi(next());
        else {
            std::fprintf(stderr, "labtool_traffic: unknown option %s\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.port <= 0 || o.port > 65535) {
        std::fprintf(stderr, "labtool_traffic: --port is required\n");
        std::exit(2);
    }
    return o;
}

void set_timeouts(int fd) {
    timeval tv{io_timeout_seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void set_rcvbuf(int fd, int bytes) {
    if (bytes > 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0) die("SO_RCVBUF");
}

bool send_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// Resolves a numeric address (IPv4 or IPv6) for `port`.
sockaddr_storage address(const std::string& host, int port, socklen_t& len) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr) {
        std::fprintf(stderr, "labtool_traffic: not a numeric address: %s\n", host.c_str());
        std::exit(2);
    }
    sockaddr_storage ss{};
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    ::freeaddrinfo(res);
    return ss;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Value of header `name` (lowercase) in a header block, or "".
std::string header(const std::string& head, const std::string& name) {
    const std::string l = lower(head);
    const auto at = l.find("\r\n" + name + ":");
    if (at == std::string::npos) return "";
    auto begin = at + 2 + name.size() + 1;
    const auto end = l.find("\r\n", begin);
    while (begin < end && head[begin] == ' ') ++begin;
    return head.substr(begin, end - begin);
}

// ------------------------------------------------------------------------------------------
// Server

struct Request {
    std::string head;   // request line + headers, without the blank line
    std::size_t body = 0;
};

void serve_connection(int fd, const Options& o) {
    set_timeouts(fd);
    std::string buf;
    std::vector<char> chunk(o.slow_reader ? slow_read_chunk : 65536);
    bool peer_done = false;
    for (;;) {
        // Answer every complete request already in the buffer (pipelining).
        for (;;) {
            const auto end = buf.find("\r\n\r\n");
            if (end == std::string::npos) break;
            const std::string head = buf.substr(0, end);
            const std::string cl = header(head, "content-length");
            const std::size_t body = cl.empty() ? 0 : std::stoull(cl);
            if (buf.size() < end + 4 + body) break;
            buf.erase(0, end + 4 + body);
            std::size_t size = o.body_bytes;
            const auto sp = head.find(' ');
            const auto sp2 = head.find(' ', sp + 1);
            const std::string uri = head.substr(sp + 1, sp2 - sp - 1);
            if (uri.rfind("/bytes/", 0) == 0) size = std::stoull(uri.substr(7));
            const bool close_after = lower(header(head, "connection")) == "close" || o.linger0;
            std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                               std::to_string(size) + "\r\n" + (close_after ? "Connection: close\r\n" : "") + "\r\n";
            resp.append(size, 'x');
            if (!send_all(fd, resp.data(), resp.size())) {
                ::close(fd);
                return;
            }
            if (o.linger0) {
                // Abortive close: the kernel sends RST instead of FIN (RFC 9293 §3.10.4, ABORT).
                std::this_thread::sleep_for(100ms);   // let the response reach the peer first
                linger lg{1, 0};
                ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                ::close(fd);
                return;
            }
            if (close_after) {
                ::shutdown(fd, SHUT_WR);
                peer_done = true;
            }
        }
        if (peer_done && buf.empty()) break;
        const ssize_t r = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (r <= 0) break;   // every complete request was answered above
        buf.append(chunk.data(), static_cast<std::size_t>(r));
        if (buf.size() > max_header_bytes && buf.find("\r\n\r\n") == std::string::npos) break;
        if (o.slow_reader) std::this_thread::sleep_for(slow_read_pause);
    }
    // Drain until the peer closes (bounded by the receive timeout), then close: FIN.
    char tmp[4096];
    ::shutdown(fd, SHUT_WR);
    while (::recv(fd, tmp, sizeof tmp, 0) > 0) {
    }
    ::close(fd);
}

int serve(const Options& o) {
    socklen_t len = 0;
    const sockaddr_storage addr = address(o.bind_addr, o.port, len);
    const int lfd = ::socket(addr.ss_family, SOCK_STREAM, 0);
    if (lfd < 0) die("socket");
    const int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr.ss_family == AF_INET6) ::setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    set_rcvbuf(lfd, o.rcvbuf);   // inherited by accepted sockets; must precede listen()
    if (::bind(lfd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) die("bind " + o.bind_addr);
    if (::listen(lfd, 64) != 0) die("listen");
    std::printf("ready\n");
    std::fflush(stdout);
    const auto deadline = Clock::now() + std::chrono::seconds(o.max_seconds);
    std::vector<std::thread> threads;
    while (!stop_requested && Clock::now() < deadline) {
        pollfd p{lfd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int fd = ::accept(lfd, nullptr, nullptr);
        if (fd < 0) continue;
        threads.emplace_back(serve_connection, fd, o);
    }
    ::close(lfd);
    for (auto& t : threads) t.join();   // each is bounded by the socket timeouts
    return 0;
}

// ------------------------------------------------------------------------------------------
// Client

// Reads one response (headers + Content-Length body) from fd, using `buf` for bytes read ahead.
bool read_response(int fd, std::string& buf, const Options& o) {
    std::vector<char> chunk(o.read_slowly ? slow_read_chunk : 65536);
    std::size_t need = std::string::npos;
    for (;;) {
        if (need == std::string::npos) {
            const auto end = buf.find("\r\n\r\n");
            if (end != std::string::npos) {
                const std::string cl = header(buf.substr(0, end), "content-length");
                need = end + 4 + (cl.empty() ? 0 : std::stoull(cl));
            }
        }
        if (need != std::string::npos && buf.size() >= need) {
            buf.erase(0, need);
            return true;
        }
        const ssize_t r = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (r <= 0) return false;
        buf.append(chunk.data(), static_cast<std::size_t>(r));
        if (o.read_slowly) std::this_thread::sleep_for(slow_read_pause);
    }
}

int one_connection(const Options& o) {
    socklen_t len = 0;
    const sockaddr_storage addr = address(o.host, o.port, len);
    const int fd = ::socket(addr.ss_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    set_timeouts(fd);
    set_rcvbuf(fd, o.rcvbuf);   // before connect(): the SYN then announces the small window
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) die("connect " + o.host);
    const std::string host_hdr = "Host: " + (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) +
                                 ":" + std::to_string(o.port) + "\r\n";
    int failures = 0;
    std::string buf;
    if (o.upload_bytes > 0) {
        std::string req = "POST /upload HTTP/1.1\r\n" + host_hdr +
                          "Content-Length: " + std::to_string(o.upload_bytes) + "\r\n\r\n";
        req.append(o.upload_bytes, 'u');
        if (!send_all(fd, req.data(), req.size())) die("send upload");
        if (!read_response(fd, buf, o)) ++failures;
    } else if (o.pipeline) {
        std::string all;
        for (int i = 0; i < o.requests; ++i)
            all += "GET " + o.path + (o.path.find('?') == std::string::npos ? "?" : "&") + "n=" + std::to_string(i) +
                   " HTTP/1.1\r\n" + host_hdr + "\r\n";
        if (!send_all(fd, all.data(), all.size())) die("send pipeline");
        if (o.half_close) ::shutdown(fd, SHUT_WR);
        for (int i = 0; i < o.requests; ++i)
            if (!read_response(fd, buf, o)) ++failures;
    } else {
        for (int i = 0; i < o.requests; ++i) {
            const std::string req = "GET " + o.path + " HTTP/1.1\r\n" + host_hdr + "\r\n";
            if (!send_all(fd, req.data(), req.size())) die("send");
            if (!read_response(fd, buf, o)) ++failures;
        }
        if (o.half_close) ::shutdown(fd, SHUT_WR);
    }
    // Close: FIN (or RST if the server already reset). Wait briefly for the server's FIN first
    // when it half-closes, so the capture has a clean teardown.
    ::shutdown(fd, SHUT_WR);
    char tmp[4096];
    while (::recv(fd, tmp, sizeof tmp, 0) > 0) {
    }
    ::close(fd);
    if (failures > 0) std::fprintf(stderr, "labtool_traffic: %d response(s) incomplete\n", failures);
    return failures > 0 ? 1 : 0;
}

int client(const Options& o) {
    int rc = 0;
    for (int c = 0; c < o.connections && !stop_requested; ++c) rc |= one_connection(o);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    if (o.mode == "serve") return serve(o);
    if (o.mode == "client") return client(o);
    std::fprintf(stderr, "labtool_traffic: mode must be serve or client\n");
    return 2;
}
