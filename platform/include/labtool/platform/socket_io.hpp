// Non-blocking socket calls of the web server on every OS (BSD sockets, Winsock): accept, one
// receive, a gathered send, a file range, shutdown, close. Linux fast paths (accept4, MSG_MORE,
// sendfile, SO_REUSEPORT) live in socket_io_linux.cpp; the others use what every OS has.
#pragma once

#include "labtool/platform/files.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace labtool::platform {

#ifdef _WIN32
using NativeSocket = std::uintptr_t;  // SOCKET
#else
using NativeSocket = int;
#endif
NativeSocket invalid_socket() noexcept;

/// What one non-blocking call did: `bytes` moved, or `error`. would_block() means try again once
/// the socket is ready; a receive of 0 bytes without error is the peer's FIN.
struct IoResult {
    std::size_t bytes = 0;
    std::error_code error;
    [[nodiscard]] bool would_block() const noexcept { return error == std::errc::operation_would_block ||
                                                             error == std::errc::resource_unavailable_try_again; }
    [[nodiscard]] bool interrupted() const noexcept { return error == std::errc::interrupted; }
};

/// True if this backend accepts on a readable listener itself (accept4) and can spread
/// connections over several listeners on one port (SO_REUSEPORT); false: use Asio's async_accept
/// on one listener.
bool fast_accept_supported() noexcept;

/// Accepts one queued connection as a non-blocking, close-on-exec socket that never raises
/// SIGPIPE. invalid_socket() and `error` (would_block when none is queued) otherwise.
NativeSocket accept_connection(NativeSocket listener, std::error_code& error);

/// Before bind: lets a restarted server bind a port still held by TIME-WAIT connections
/// (SO_REUSEADDR on POSIX) without letting a second program share a port in use (Windows:
/// SO_EXCLUSIVEADDRUSE, since its SO_REUSEADDR would allow exactly that).
std::error_code set_listener_options(NativeSocket listener);

/// Sets SO_REUSEPORT on a listener (Linux backend only; elsewhere returns operation_not_supported).
std::error_code set_reuse_port(NativeSocket listener);

/// Makes an accepted socket non-blocking and free of SIGPIPE (SO_NOSIGPIPE where it exists).
std::error_code prepare_connection(NativeSocket s);

/// One non-blocking receive.
IoResult receive_some(NativeSocket s, void* buffer, std::size_t size);

/// One non-blocking send of `first` then `second` (either may be empty). `more`: more data (or the
/// FIN of a close) follows at once, so a last partial segment may wait for it (MSG_MORE on Linux;
/// ignored elsewhere).
IoResult send_two(NativeSocket s, std::string_view first, std::string_view second, bool more);

/// Sends up to `amount` bytes of `file` from `offset` without copying them through user space
/// (sendfile on Linux). operation_not_supported where there is no such call (then read_at + send_two).
IoResult send_file_range(NativeSocket s, const File& file, std::uint64_t offset, std::size_t amount);

/// Sends our FIN (shutdown for writing).
std::error_code shutdown_send(NativeSocket s);

/// Closes a socket that no Asio object owns.
void close_socket(NativeSocket s) noexcept;

/// TCP_NODELAY on.
void set_no_delay(NativeSocket s) noexcept;

/// "127.0.0.1:54321" or "[::1]:54321" of the peer, "?" if unknown.
std::string peer_name(NativeSocket s);

/// Whether a program could listen on `port` at the loopback address of `ipv6`'s family: binds a
/// probe exclusively (SO_EXCLUSIVEADDRUSE on Windows, where SO_REUSEADDR would share the port),
/// then closes it. Empty when free; address_in_use when another program holds it; other codes
/// (address_not_available: no ::1) as the OS says.
std::error_code probe_loopback_port(std::uint16_t port, bool ipv6);

}  // namespace labtool::platform
