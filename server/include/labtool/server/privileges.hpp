// Giving up root after the privileged work is done (capture opened, port bound), as tcpdump does
// with -Z: a server started with sudo keeps serving files as the user who typed sudo.
#pragma once

#include <string>
#include <system_error>

namespace labtool::server {

struct PrivilegeDrop {
    bool dropped = false;   // true: now running as the sudo user (real, effective and saved ids)
    std::string message;    // what happened, for the user ("serving as uid 1000 (alice)"), or empty
    std::error_code error;  // set if the drop was needed but failed; the caller should then exit
};

/// If the effective user is root and SUDO_UID / SUDO_GID name a non-root user, switches the
/// process to that user for good: supplementary groups (initgroups for SUDO_USER, else none),
/// then gid, then uid, and checks that root cannot be regained. Call it once, after the capture
/// is open and every port is bound, before serving the first request; affects all threads.
/// Not root, or root without sudo: does nothing (dropped = false, no error).
/// Returns an error (and leaves ids as they were as far as possible) if SUDO_UID/SUDO_GID are
/// malformed or a set*id call fails; serving as root then would be the wrong default.
PrivilegeDrop drop_privileges_if_sudo();

/// True if the process runs with effective uid 0 and was not started through sudo (no SUDO_UID):
/// the caller then says once that it is serving files as root.
bool running_as_root_without_sudo();

}  // namespace labtool::server
