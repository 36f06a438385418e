// The portable POSIX backend (macOS, the BSDs; also built on Linux so CI keeps this path honest):
// what the Linux backend does with Linux-only calls, done with calls every POSIX system has.
#include "labtool/platform/clock.hpp"
#include "labtool/platform/process.hpp"
#include "labtool/platform/socket_io.hpp"

#include "posix_fast_paths.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <string>

namespace labtool::platform {
namespace detail {

int open_beneath_fast(int, const char*, int) { return -2; }  // no such call: check by path

void stat_times(const struct stat& st, FileInfo& out) {
#ifdef __APPLE__
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtimespec.tv_sec) * 1'000'000'000 + st.st_mtimespec.tv_nsec;
    out.change_ns = static_cast<std::int64_t>(st.st_ctimespec.tv_sec) * 1'000'000'000 + st.st_ctimespec.tv_nsec;
#else
    // Whole seconds are all that plain POSIX promises (the cache then waits until a file's
    // second is over before it trusts the file).
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtime) * 1'000'000'000;
    out.change_ns = static_cast<std::int64_t>(st.st_ctime) * 1'000'000'000;
#endif
}

int accept_nonblocking(int listener) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd >= 0) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return fd;
}

int send_more_flag() noexcept { return 0; }

// setreuid/setregid with both ids: real and effective change, and POSIX then sets the saved id
// to the new effective one, so root cannot come back (checked by the caller).
int set_group_ids(gid_t gid) { return ::setregid(gid, gid); }
int set_user_ids(uid_t uid) { return ::setreuid(uid, uid); }

}  // namespace detail

bool fast_accept_supported() noexcept { return false; }

std::error_code set_reuse_port(NativeSocket) { return std::make_error_code(std::errc::operation_not_supported); }

IoResult send_file_range(NativeSocket, const File&, std::uint64_t, std::size_t) {
    IoResult r;
    r.error = std::make_error_code(std::errc::operation_not_supported);
    return r;
}

std::int64_t coarse_monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t coarse_realtime_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

// The OS, not the backend: this backend also runs on Linux (CI), where advice and capture
// defaults are Linux's.
std::string_view os_name() {
#if defined(__APPLE__)
    return "macos";
#elif defined(__linux__)
    return "linux";
#else
    return "posix";
#endif
}

void lower_thread_priority() {}  // setpriority is per process here: leave the capture thread's alone

std::string capture_rights_note() {
    // BPF devices (macOS, the BSDs): capture needs read access to one (root, or Wireshark's
    // ChmodBPF giving the access_bpf group read-write).
    if (::access("/dev/bpf0", F_OK) != 0) return {};
    return ::access("/dev/bpf0", R_OK | W_OK) == 0 ? "/dev/bpf0 is readable and writable"
                                                   : "/dev/bpf0 is not readable by this user";
}

std::filesystem::path executable_path() {
#ifdef __APPLE__
    char buf[PATH_MAX];
    std::uint32_t size = sizeof buf;
    if (::_NSGetExecutablePath(buf, &size) == 0) {
        char real[PATH_MAX];
        if (::realpath(buf, real) != nullptr) return real;
    }
#endif
    return detail::executable_from_argv0();
}

}  // namespace labtool::platform
