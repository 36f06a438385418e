// The Linux backend's fast paths: openat2, nanosecond stat times, accept4, MSG_MORE, sendfile,
// SO_REUSEPORT, coarse clocks, /proc/self/exe, setres[ug]id. Everything else is files_posix.cpp,
// socket_io_posix.cpp and process_posix.cpp, shared with the portable POSIX backend.
#include "labtool/platform/clock.hpp"
#include "labtool/platform/process.hpp"
#include "labtool/platform/socket_io.hpp"

#include "posix_fast_paths.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <string>

namespace labtool::platform {
namespace detail {
namespace {
std::atomic<bool> openat2_unavailable{false};
}

// openat2(RESOLVE_BENEATH) lets the kernel refuse anything outside the root atomically, also
// through symlinks. It refuses absolute symlinks even when they point inside the root (EXDEV):
// the caller then checks by path. ENOSYS/EPERM: an old kernel or a seccomp filter.
int open_beneath_fast(int root_fd, const char* relative, int flags) {
#ifdef SYS_openat2
    if (openat2_unavailable.load(std::memory_order_relaxed)) return -2;
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, relative, &how, sizeof how));
    if (fd >= 0) return fd;
    if (errno == ENOSYS || errno == EPERM) {
        openat2_unavailable.store(true, std::memory_order_relaxed);
        return -2;
    }
    return -1;
#else
    (void)root_fd, (void)relative, (void)flags;
    return -2;
#endif
}

void stat_times(const struct stat& st, FileInfo& out) {
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    out.change_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
}

int accept_nonblocking(int listener) { return ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int send_more_flag() noexcept { return MSG_MORE; }

int set_group_ids(gid_t gid) { return ::setresgid(gid, gid, gid); }
int set_user_ids(uid_t uid) { return ::setresuid(uid, uid, uid); }

}  // namespace detail

bool fast_accept_supported() noexcept { return true; }

std::error_code set_reuse_port(NativeSocket listener) {
    const int one = 1;
    if (::setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return {errno, std::generic_category()};
    return {};
}

// The descriptor is non-blocking since accept (sendfile has no MSG_DONTWAIT). EINVAL/ENOSYS: a
// file system without splice support; the caller then reads and sends.
IoResult send_file_range(NativeSocket s, const File& file, std::uint64_t offset, std::size_t amount) {
    auto off = static_cast<off_t>(offset);
    const ssize_t n = ::sendfile(s, file.native(), &off, amount);
    IoResult r;
    if (n >= 0) {
        r.bytes = static_cast<std::size_t>(n);
    } else if (errno == EINVAL || errno == ENOSYS) {
        r.error = std::make_error_code(std::errc::operation_not_supported);
    } else {
        r.error = {errno, std::generic_category()};
    }
    return r;
}

// Coarse clocks: a few milliseconds of resolution, read without touching the TSC.
std::int64_t coarse_monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t coarse_realtime_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return ts.tv_sec;
}

std::filesystem::path executable_path() {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path{} : p;
}

std::string_view os_name() { return "linux"; }

void lower_thread_priority() {
    // On Linux the nice value is per thread (the tid names the thread).
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

// CAP_NET_RAW (bit 13) in the effective capability set, from /proc/self/status.
std::string capture_rights_note() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("CapEff:", 0) != 0) continue;
        const unsigned long long caps = std::stoull(line.substr(7), nullptr, 16);
        return (caps >> 13) & 1u ? "with CAP_NET_RAW" : "without CAP_NET_RAW";
    }
    return {};
}

}  // namespace labtool::platform
