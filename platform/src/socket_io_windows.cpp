// socket_io.hpp on Windows (Winsock). Asio accepts the connections (AcceptEx on its completion
// port); the session's own non-blocking calls are plain recv/WSASend, whose errors come from
// WSAGetLastError, never errno.
#include "labtool/platform/socket_io.hpp"

#include "windows_util.hpp"

#include <algorithm>
#include <mutex>

namespace labtool::platform {
namespace {

using detail::last_socket_error;

// Asio starts Winsock for its own objects; calls made before any exists (doctor's port probe)
// need it too. WSAStartup counts: one more reference is harmless.
void ensure_winsock() {
    static std::once_flag once;
    std::call_once(once, [] {
        WSADATA data{};
        ::WSAStartup(MAKEWORD(2, 2), &data);
    });
}

SOCKET sock(NativeSocket s) { return static_cast<SOCKET>(s); }

IoResult result_of(int n) {
    IoResult r;
    if (n == SOCKET_ERROR) r.error = last_socket_error();
    else r.bytes = static_cast<std::size_t>(n);
    return r;
}

std::error_code set_non_blocking(SOCKET s) {
    u_long on = 1;
    return ::ioctlsocket(s, FIONBIO, &on) == 0 ? std::error_code{} : last_socket_error();
}

}  // namespace

NativeSocket invalid_socket() noexcept { return static_cast<NativeSocket>(INVALID_SOCKET); }

bool fast_accept_supported() noexcept { return false; }

NativeSocket accept_connection(NativeSocket listener, std::error_code& error) {
    const SOCKET s = ::accept(sock(listener), nullptr, nullptr);
    if (s == INVALID_SOCKET) {
        error = last_socket_error();
        return invalid_socket();
    }
    error = set_non_blocking(s);
    return static_cast<NativeSocket>(s);
}

std::error_code set_listener_options(NativeSocket listener) {
    // SO_REUSEADDR on Windows would let a second program bind a port in use; exclusive use is
    // what POSIX's default (plus SO_REUSEADDR for TIME-WAIT) means.
    const BOOL on = TRUE;
    if (::setsockopt(sock(listener), SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&on), sizeof on) != 0)
        return last_socket_error();
    return {};
}

std::error_code set_reuse_port(NativeSocket) { return std::make_error_code(std::errc::operation_not_supported); }

std::error_code prepare_connection(NativeSocket s) { return set_non_blocking(sock(s)); }

IoResult receive_some(NativeSocket s, void* buffer, std::size_t size) {
    const int n = static_cast<int>(std::min<std::size_t>(size, 1u << 30));
    return result_of(::recv(sock(s), static_cast<char*>(buffer), n, 0));
}

IoResult send_two(NativeSocket s, std::string_view first, std::string_view second, bool) {
    WSABUF bufs[2];
    DWORD count = 0;
    if (!first.empty()) bufs[count++] = {static_cast<ULONG>(first.size()), const_cast<char*>(first.data())};
    if (!second.empty()) bufs[count++] = {static_cast<ULONG>(second.size()), const_cast<char*>(second.data())};
    DWORD sent = 0;
    IoResult r;
    if (::WSASend(sock(s), bufs, count, &sent, 0, nullptr, nullptr) == SOCKET_ERROR) r.error = last_socket_error();
    else r.bytes = sent;
    return r;
}

IoResult send_file_range(NativeSocket, const File&, std::uint64_t, std::size_t) {
    IoResult r;
    r.error = std::make_error_code(std::errc::operation_not_supported);  // read_at + send_two
    return r;
}

std::error_code shutdown_send(NativeSocket s) {
    return ::shutdown(sock(s), SD_SEND) == 0 ? std::error_code{} : last_socket_error();
}

void close_socket(NativeSocket s) noexcept {
    if (sock(s) != INVALID_SOCKET) ::closesocket(sock(s));
}

void set_no_delay(NativeSocket s) noexcept {
    const BOOL on = TRUE;
    ::setsockopt(sock(s), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&on), sizeof on);
}

std::string peer_name(NativeSocket s) {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (::getpeername(sock(s), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char host[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
    }
    return "?";
}

std::error_code probe_loopback_port(std::uint16_t port, bool ipv6) {
    ensure_winsock();
    const SOCKET s = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) return last_socket_error();
    std::error_code ec = set_listener_options(static_cast<NativeSocket>(s));
    int rc = 0;
    if (!ec && ipv6) {
        const DWORD on = 1;
        ::setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<const char*>(&on), sizeof on);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_loopback;
        rc = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else if (!ec) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (!ec && rc != 0) ec = last_socket_error();
    ::closesocket(s);
    return ec;
}

}  // namespace labtool::platform
