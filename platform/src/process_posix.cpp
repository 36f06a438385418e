// process.hpp on POSIX: sudo and root, signals, the terminal. Linux-only calls (setresuid,
// /proc/self/exe) come through posix_fast_paths.hpp.
#include "labtool/platform/process.hpp"

#include "posix_fast_paths.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>

namespace labtool::platform {
namespace {

std::string argv0;

std::optional<unsigned long> parse_id(const char* text) {
    if (text == nullptr || *text == '\0') return std::nullopt;
    unsigned long v = 0;
    for (const char* p = text; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9') return std::nullopt;
        if (v > (std::numeric_limits<unsigned long>::max() - 9) / 10) return std::nullopt;
        v = v * 10 + static_cast<unsigned long>(*p - '0');
    }
    if (v > std::numeric_limits<uid_t>::max() - 1) return std::nullopt;  // (uid_t)-1 means "unchanged"
    return v;
}

std::error_code last_error() { return {errno, std::generic_category()}; }

std::atomic<bool>* stop_flag = nullptr;
extern "C" void on_stop_signal(int) {
    if (stop_flag != nullptr) stop_flag->store(true);
}

}  // namespace

namespace detail {
std::filesystem::path executable_from_argv0() {
    if (argv0.empty()) return {};
    const std::string candidate = argv0.find('/') != std::string::npos ? argv0 : find_program(argv0).string();
    char real[PATH_MAX];
    if (candidate.empty() || ::realpath(candidate.c_str(), real) == nullptr) return {};
    return real;
}
}  // namespace detail

std::vector<std::string> program_arguments(int argc, char** argv) {
    std::vector<std::string> out;
    for (int i = 0; i < argc; ++i) out.emplace_back(argv[i]);
    if (!out.empty()) argv0 = out.front();
    return out;
}

std::filesystem::path find_program(std::string_view program) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return {};
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        const std::string c = (dir.empty() ? std::string(".") : dir) + "/" + std::string(program);
        if (::access(c.c_str(), X_OK) == 0) return c;
    }
    return {};
}

bool is_privileged() { return ::geteuid() == 0; }

std::string who_am_i() { return ::geteuid() == 0 ? std::string("root") : "user " + std::to_string(::geteuid()); }

PrivilegeDrop drop_privileges_if_sudo() {
    PrivilegeDrop out;
    if (::geteuid() != 0) return out;
    const char* uid_text = std::getenv("SUDO_UID");
    const char* gid_text = std::getenv("SUDO_GID");
    if (uid_text == nullptr && gid_text == nullptr) return out;  // root without sudo
    const auto uid = parse_id(uid_text);
    const auto gid = parse_id(gid_text);
    if (!uid || !gid) {
        out.error = std::make_error_code(std::errc::invalid_argument);
        out.message = "SUDO_UID / SUDO_GID are not numeric ids; refusing to keep running as root";
        return out;
    }
    if (*uid == 0) return out;  // sudo from root: nothing to give up
    const auto u = static_cast<uid_t>(*uid);
    const auto g = static_cast<gid_t>(*gid);

    // Groups first (needs root), then the gid, then the uid (after which nothing else is allowed).
    const char* user = std::getenv("SUDO_USER");
    const passwd* pw = ::getpwuid(u);
    const bool user_matches = user != nullptr && pw != nullptr && std::string_view(pw->pw_name) == user;
    if (user_matches ? ::initgroups(user, static_cast<decltype(pw->pw_gid)>(g)) != 0 : ::setgroups(0, nullptr) != 0) {
        out.error = last_error();
        out.message = "cannot set the supplementary groups of the sudo user";
        return out;
    }
    if (detail::set_group_ids(g) != 0) {
        out.error = last_error();
        out.message = "cannot switch to the sudo user's group id " + std::to_string(g);
        return out;
    }
    if (detail::set_user_ids(u) != 0) {
        out.error = last_error();
        out.message = "cannot switch to the sudo user's id " + std::to_string(u);
        return out;
    }
    // Paranoia as in tcpdump: root must not be regainable.
    if (::setuid(0) == 0 || ::seteuid(0) == 0) {
        out.error = std::make_error_code(std::errc::operation_not_permitted);
        out.message = "root privileges could be regained after dropping them";
        return out;
    }
    out.dropped = true;
    out.message = "dropped root privileges: serving files as uid " + std::to_string(u) +
                  (pw != nullptr ? " (" + std::string(pw->pw_name) + ")" : std::string()) + ", gid " +
                  std::to_string(g);
    return out;
}

bool running_as_root_without_sudo() { return ::geteuid() == 0 && std::getenv("SUDO_UID") == nullptr; }

std::string give_to_sudo_user(std::FILE* file) {
    if (file == nullptr || ::geteuid() != 0) return {};
    const auto uid = parse_id(std::getenv("SUDO_UID"));
    const auto gid = parse_id(std::getenv("SUDO_GID"));
    if (!uid || !gid || *uid == 0) return {};
    // On the open descriptor, never by name: the name may lead elsewhere by now.
    if (::fchown(::fileno(file), static_cast<uid_t>(*uid), static_cast<gid_t>(*gid)) != 0) return std::strerror(errno);
    return {};
}

bool load_capture_library(std::string&) { return true; }

void release_free_memory() {
#ifdef __GLIBC__
    (void)::malloc_trim(0);
#endif
}

void install_stop_flag(std::atomic<bool>& flag) {
    stop_flag = &flag;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: let a blocking wait return at once
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

void setup_console() {}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

std::string ui_language() { return {}; }

}  // namespace labtool::platform
