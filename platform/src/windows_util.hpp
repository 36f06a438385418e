// Helpers shared by the Windows backend files: UTF-16 <-> UTF-8, Win32 and Winsock errors as
// portable std::error_code values. Private to labtool_platform.
#pragma once

#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <string>
#include <string_view>
#include <system_error>

namespace labtool::platform::detail {

inline std::wstring widen(std::string_view utf8) {
    if (utf8.empty()) return {};
    const int n = ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
    std::wstring out(static_cast<std::size_t>(n > 0 ? n : 0), L'\0');
    if (n > 0) ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
    return out;
}

inline std::string narrow(std::wstring_view wide) {
    if (wide.empty()) return {};
    const int n = ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0, nullptr, nullptr);
    std::string out(static_cast<std::size_t>(n > 0 ? n : 0), '\0');
    if (n > 0) ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n, nullptr, nullptr);
    return out;
}

/// A Win32 (GetLastError) or Winsock (WSAGetLastError) code as the portable condition the rest of
/// labtool compares with (std::errc), else as a system_category code with Windows' own message.
inline std::error_code win_error(DWORD code) {
    using std::errc;
    switch (code) {
        case ERROR_FILE_NOT_FOUND:
        case ERROR_PATH_NOT_FOUND:
        case ERROR_INVALID_NAME:
        case ERROR_BAD_NETPATH:
        case ERROR_DIRECTORY:
            return std::make_error_code(errc::no_such_file_or_directory);
        case ERROR_ACCESS_DENIED:
        case ERROR_SHARING_VIOLATION:
        case WSAEACCES:
            return std::make_error_code(errc::permission_denied);
        case ERROR_HANDLE_DISK_FULL:
        case ERROR_DISK_FULL:
            return std::make_error_code(errc::no_space_on_device);
        case WSAEWOULDBLOCK: return std::make_error_code(errc::operation_would_block);
        case WSAEINTR: return std::make_error_code(errc::interrupted);
        case WSAECONNABORTED: return std::make_error_code(errc::connection_aborted);
        case WSAECONNRESET: return std::make_error_code(errc::connection_reset);
        case WSAEADDRINUSE: return std::make_error_code(errc::address_in_use);
        case WSAEADDRNOTAVAIL: return std::make_error_code(errc::address_not_available);
        case WSAEAFNOSUPPORT: return std::make_error_code(errc::address_family_not_supported);
        case WSAENOTCONN: return std::make_error_code(errc::not_connected);
        case WSAESHUTDOWN: return std::make_error_code(errc::broken_pipe);
        case WSAEMFILE: return std::make_error_code(errc::too_many_files_open);
        case WSAENOBUFS: return std::make_error_code(errc::no_buffer_space);
        default: return {static_cast<int>(code), std::system_category()};
    }
}

inline std::error_code last_win_error() { return win_error(::GetLastError()); }
inline std::error_code last_socket_error() { return win_error(static_cast<DWORD>(::WSAGetLastError())); }

}  // namespace labtool::platform::detail
