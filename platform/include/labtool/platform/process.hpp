// The process and its surroundings on every OS: its own path, privileges (root via sudo on
// POSIX, administrator on Windows), Ctrl-C, the console (UTF-8, colours), the user's language.
#pragma once

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace labtool::platform {

/// The program's arguments as UTF-8 strings, argv[0] first: on Windows read again in UTF-16
/// (GetCommandLineW) instead of the ANSI code page main() gets; elsewhere argv as it is. Call it
/// once from main (it also remembers argv[0] for executable_path()).
std::vector<std::string> program_arguments(int argc, char** argv);

/// The running executable's own file (to find www/ beside it). Empty if it cannot be told.
std::filesystem::path executable_path();

/// True when running with full rights: effective uid 0 on POSIX, an elevated administrator on Windows.
bool is_privileged();

/// A one-line description of who runs this ("root", "user 1000", "an administrator").
std::string who_am_i();

struct PrivilegeDrop {
    bool dropped = false;   // true: now running as the sudo user (real, effective and saved ids)
    std::string message;    // what happened, for the user ("serving as uid 1000 (alice)"), or empty
    std::error_code error;  // set if the drop was needed but failed; the caller should then exit
};

/// POSIX: if the effective user is root and SUDO_UID / SUDO_GID name a non-root user, switches
/// the process to that user for good (groups, gid, uid) and checks that root cannot be regained,
/// as tcpdump -Z does. Call once, after the capture is open and every port bound.
/// Not root, or root without sudo: nothing. Malformed SUDO_* or a failed set*id: `error`.
/// Windows: nothing (a process cannot give up its administrator token).
PrivilegeDrop drop_privileges_if_sudo();

/// True if running as root not through sudo (POSIX); false on Windows.
bool running_as_root_without_sudo();

/// POSIX, root under sudo: gives the open file (a recording) to the sudo user with fchown on its
/// descriptor, never by path (a path could be swapped for a link meanwhile). Empty string on
/// success or when there is nothing to do (not root, no sudo, Windows), else why it failed.
std::string give_to_sudo_user(std::FILE* file);

/// Windows: loads Npcap's wpcap.dll from System32\Npcap (before any pcap_* call: labtool links
/// it delay-loaded, so the program starts without it). Elsewhere: true at once.
/// false with `why` (one line naming Npcap and its URL) when it is not installed.
bool load_capture_library(std::string& why);

/// Sets `flag` when the user asks the program to stop: Ctrl-C and SIGTERM on POSIX (without
/// SA_RESTART, so blocking waits return), Ctrl-C, Ctrl-Break and console close on Windows.
/// Also ignores SIGPIPE on POSIX (a closed socket is an error code, not a signal).
void install_stop_flag(std::atomic<bool>& flag);

/// Console set-up once at start: UTF-8 output and VT colour sequences on Windows; nothing elsewhere.
void setup_console();

/// True if standard output is a terminal (colours make sense).
bool stdout_is_terminal();

/// The user's interface language where no environment variable says it ("zh-CN", "en-US" ...):
/// GetUserDefaultUILanguage on Windows; empty elsewhere (LC_ALL, LC_MESSAGES and LANG decide).
std::string ui_language();

/// Hands memory the program has freed back to the OS where the allocator keeps it for reuse
/// (glibc: malloc_trim, which also releases free pages inside the heap; Windows: _heapmin);
/// nothing elsewhere. Call after a burst, once its buffers are freed.
void release_free_memory();

/// Lets the calling thread yield the CPU to the others (analysis behind capture): a higher nice
/// value for this thread on Linux, a lower thread priority on Windows; nothing elsewhere.
void lower_thread_priority();

/// What this OS says about the right to capture, for `doctor` ("with CAP_NET_RAW",
/// "/dev/bpf0 is readable" ...); empty if there is nothing to tell.
std::string capture_rights_note();

/// The full path of `program` found in PATH (PATHEXT's .exe on Windows), or empty.
std::filesystem::path find_program(std::string_view program);

/// The name of the OS running this (not of the backend: the posix backend on Linux says "linux"),
/// for messages and for choosing advice: "linux", "macos", "windows" or "posix" (another Unix).
std::string_view os_name();

}  // namespace labtool::platform
