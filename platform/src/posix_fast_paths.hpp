// The few calls in which Linux has a faster or safer way than POSIX: the Linux backend
// (fast_paths_linux.cpp) and the portable one (fast_paths_posix.cpp) each define them once.
// Private to the POSIX backends of labtool_platform.
#pragma once

#include "labtool/platform/files.hpp"

#include <sys/stat.h>
#include <sys/types.h>

namespace labtool::platform::detail {

/// Opens `relative` beneath the directory `root_fd` in one kernel call that refuses to leave it
/// (openat2 RESOLVE_BENEATH). The descriptor, or -1 with errno set when the kernel refused the
/// name, or -2 when there is no such call (or it refused to judge: the caller checks by path).
int open_beneath_fast(int root_fd, const char* relative, int flags);

/// Modification and status-change times of `st`, with their nanoseconds where the OS keeps them.
void stat_times(const struct stat& st, FileInfo& out);

/// accept() of a connection that is non-blocking and close-on-exec; -1 with errno.
int accept_nonblocking(int listener);

/// The send() flag that holds back a last partial segment (MSG_MORE), or 0.
int send_more_flag() noexcept;

/// Sets the real, effective and saved group and user ids (groups must be set before). -1 with errno.
int set_group_ids(gid_t gid);
int set_user_ids(uid_t uid);

/// The executable from the argv[0] remembered by program_arguments(): as given if it holds a
/// '/', else looked up in PATH; resolved with realpath. Empty if unknown.
std::filesystem::path executable_from_argv0();

}  // namespace labtool::platform::detail
