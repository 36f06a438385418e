// Dropping root to the sudo user (SUDO_UID / SUDO_GID), as tcpdump -Z does after opening the
// capture device.
#include "labtool/server/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string_view>

namespace labtool::server {
namespace {

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

}  // namespace

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
    if (user_matches ? ::initgroups(user, g) != 0 : ::setgroups(0, nullptr) != 0) {
        out.error = last_error();
        out.message = "cannot set the supplementary groups of the sudo user";
        return out;
    }
    if (::setresgid(g, g, g) != 0) {
        out.error = last_error();
        out.message = "cannot switch to the sudo user's group id " + std::to_string(g);
        return out;
    }
    if (::setresuid(u, u, u) != 0) {
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

}  // namespace labtool::server
