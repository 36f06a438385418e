// socket_io.hpp on POSIX. The Linux backend adds accept4, MSG_MORE, sendfile and SO_REUSEPORT
// (fast_paths_linux.cpp).
#include "labtool/platform/socket_io.hpp"

#include "posix_fast_paths.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace labtool::platform {
namespace {
std::error_code last_error() { return {errno, std::generic_category()}; }

// MSG_NOSIGNAL where it exists (Linux, the BSDs, newer macOS); SO_NOSIGPIPE covers the rest.
#ifdef MSG_NOSIGNAL
constexpr int no_signal = MSG_NOSIGNAL;
#else
constexpr int no_signal = 0;
#endif

IoResult result_of(ssize_t n) {
    IoResult r;
    if (n >= 0) r.bytes = static_cast<std::size_t>(n);
    else r.error = last_error();
    return r;
}
}  // namespace

NativeSocket invalid_socket() noexcept { return -1; }

NativeSocket accept_connection(NativeSocket listener, std::error_code& error) {
    const int fd = detail::accept_nonblocking(listener);
    if (fd < 0) {
        error = last_error();
        return -1;
    }
#ifdef SO_NOSIGPIPE
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    error = {};
    return fd;
}

std::error_code set_listener_options(NativeSocket listener) {
    const int one = 1;
    if (::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return last_error();
    return {};
}

std::error_code prepare_connection(NativeSocket s) {
    const int fl = ::fcntl(s, F_GETFL);
    if (fl < 0 || ::fcntl(s, F_SETFL, fl | O_NONBLOCK) != 0) return last_error();
    ::fcntl(s, F_SETFD, FD_CLOEXEC);
#ifdef SO_NOSIGPIPE
    const int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return {};
}

IoResult receive_some(NativeSocket s, void* buffer, std::size_t size) {
    return result_of(::recv(s, buffer, size, 0));  // the socket is non-blocking
}

IoResult send_two(NativeSocket s, std::string_view first, std::string_view second, bool more) {
    iovec iov[2];
    int count = 0;
    if (!first.empty()) iov[count++] = {const_cast<char*>(first.data()), first.size()};
    if (!second.empty()) iov[count++] = {const_cast<char*>(second.data()), second.size()};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(count);
    const int flags = no_signal | (more ? detail::send_more_flag() : 0);
    return result_of(::sendmsg(s, &msg, flags));
}

std::error_code shutdown_send(NativeSocket s) { return ::shutdown(s, SHUT_WR) == 0 ? std::error_code{} : last_error(); }

void close_socket(NativeSocket s) noexcept {
    if (s >= 0) ::close(s);
}

void set_no_delay(NativeSocket s) noexcept {
    const int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string peer_name(NativeSocket s) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (s < 0 || ::getpeername(s, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char host[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
    }
    return "?";
}

std::error_code probe_loopback_port(std::uint16_t port, bool ipv6) {
    const int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return last_error();
    // SO_REUSEADDR as the server sets it: a port held only by TIME-WAIT connections is free.
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (ipv6) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_loopback;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    const std::error_code ec = rc == 0 ? std::error_code{} : last_error();
    ::close(fd);
    return ec;
}

}  // namespace labtool::platform
