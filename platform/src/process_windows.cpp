// process.hpp and clock.hpp on Windows: UTF-16 command line, the executable from
// GetModuleFileNameW, elevation instead of root, Ctrl-C through the console control handler,
// a UTF-8 console with VT colours, the UI language, and Npcap's wpcap.dll loaded on demand.
#include "labtool/platform/clock.hpp"
#include "labtool/platform/process.hpp"

#include "windows_util.hpp"

#include <shellapi.h>

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace labtool::platform {
using detail::narrow;
using detail::widen;

namespace {
std::atomic<bool>* stop_flag = nullptr;

BOOL WINAPI on_console_event(DWORD type) {
    switch (type) {
        case CTRL_C_EVENT:
        case CTRL_BREAK_EVENT:
            if (stop_flag != nullptr) stop_flag->store(true);
            return TRUE;  // handled: the main loop stops and prints its summary
        case CTRL_CLOSE_EVENT:
        case CTRL_LOGOFF_EVENT:
        case CTRL_SHUTDOWN_EVENT:
            // Windows ends the process as soon as this returns: give the main loop the few
            // seconds it is granted to flush the recording (main's exit ends this wait early).
            if (stop_flag != nullptr) stop_flag->store(true);
            ::Sleep(4500);
            return TRUE;
        default:
            return FALSE;
    }
}

// HKLM\SYSTEM\CurrentControlSet\Services\npcap\Parameters\<name>, or -1 if absent.
long npcap_parameter(const wchar_t* name) {
    DWORD value = 0;
    DWORD size = sizeof value;
    if (::RegGetValueW(HKEY_LOCAL_MACHINE, L"SYSTEM\\CurrentControlSet\\Services\\npcap\\Parameters", name,
                       RRF_RT_REG_DWORD, nullptr, &value, &size) != ERROR_SUCCESS)
        return -1;
    return static_cast<long>(value);
}
}  // namespace

std::vector<std::string> program_arguments(int argc, char** argv) {
    std::vector<std::string> out;
    int n = 0;
    if (LPWSTR* wide = ::CommandLineToArgvW(::GetCommandLineW(), &n)) {
        for (int i = 0; i < n; ++i) out.push_back(narrow(wide[i]));
        ::LocalFree(wide);
        return out;
    }
    for (int i = 0; i < argc; ++i) out.emplace_back(argv[i]);
    return out;
}

std::filesystem::path executable_path() {
    std::wstring buf(MAX_PATH, L'\0');
    for (int tries = 0; tries < 4; ++tries) {
        const DWORD n = ::GetModuleFileNameW(nullptr, buf.data(), static_cast<DWORD>(buf.size()));
        if (n == 0) return {};
        if (n < buf.size()) {
            buf.resize(n);
            return std::filesystem::path(buf);
        }
        buf.resize(buf.size() * 2);
    }
    return {};
}

bool is_privileged() {
    HANDLE token = nullptr;
    if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) return false;
    TOKEN_ELEVATION elevation{};
    DWORD size = 0;
    const bool ok = ::GetTokenInformation(token, TokenElevation, &elevation, sizeof elevation, &size) != 0;
    ::CloseHandle(token);
    return ok && elevation.TokenIsElevated != 0;
}

std::string who_am_i() { return is_privileged() ? "an administrator (elevated)" : "a user without elevation"; }

PrivilegeDrop drop_privileges_if_sudo() { return {}; }  // no sudo; a token cannot be given up

bool running_as_root_without_sudo() { return false; }

std::string give_to_sudo_user(std::FILE*) { return {}; }

// Wireshark's way (capture/capture-wpcap.c): the DLL from Npcap's own folder, at run time, so
// that one binary runs with and without Npcap. labtool links wpcap delay-loaded; once the DLL
// is loaded here, the delay-load helper finds it by name.
bool load_capture_library(std::string& why) {
    static std::once_flag once;
    static std::string failure;
    std::call_once(once, [] {
        // By its full path in Npcap's folder only: never a wpcap.dll planted beside labtool.exe
        // or in the current folder, nor WinPcap's old one in System32. The altered search path
        // finds Packet.dll beside it.
        wchar_t system_dir[MAX_PATH] = {};
        const UINT n = ::GetSystemDirectoryW(system_dir, MAX_PATH);
        HMODULE wpcap = nullptr;
        if (n > 0 && n < MAX_PATH)
            wpcap = ::LoadLibraryExW((std::wstring(system_dir) + L"\\Npcap\\wpcap.dll").c_str(), nullptr,
                                     LOAD_WITH_ALTERED_SEARCH_PATH);
        if (wpcap == nullptr) {
            failure = "Npcap is not installed (wpcap.dll was not found): live capture on Windows needs Npcap with "
                      "\"Support loopback traffic capture\", from https://npcap.com/#download (replay, report and "
                      "serve work without it)";
            return;
        }
        // Calls through the delay-load table end the process if an export is missing: check the
        // newest ones labtool uses first (Npcap 1.x has them all; WinPcap and old Npcap do not).
        for (const char* name : {"pcap_init", "pcap_set_immediate_mode", "pcap_set_tstamp_precision",
                                 "pcap_get_tstamp_precision", "pcap_get_required_select_timeout"}) {
            if (::GetProcAddress(wpcap, name) == nullptr) {
                failure = std::string("the installed Npcap is too old (its wpcap.dll lacks ") + name +
                          "): install the current Npcap from https://npcap.com/#download with \"Support loopback "
                          "traffic capture\"";
                return;
            }
        }
    });
    if (!failure.empty()) why = failure;
    return failure.empty();
}

void install_stop_flag(std::atomic<bool>& flag) {
    stop_flag = &flag;
    ::SetConsoleCtrlHandler(on_console_event, TRUE);
}

void setup_console() {
    // Chinese explanations are UTF-8: the console must not read them in the OEM code page. The
    // console is the user's: its code pages are put back at exit.
    static const UINT output_cp = ::GetConsoleOutputCP();
    static const UINT input_cp = ::GetConsoleCP();
    if (output_cp != 0) std::atexit([] {
        ::SetConsoleOutputCP(output_cp);
        ::SetConsoleCP(input_cp);
    });
    ::SetConsoleOutputCP(CP_UTF8);
    ::SetConsoleCP(CP_UTF8);
    for (DWORD which : {STD_OUTPUT_HANDLE, STD_ERROR_HANDLE}) {
        HANDLE h = ::GetStdHandle(which);
        DWORD mode = 0;
        if (h != INVALID_HANDLE_VALUE && ::GetConsoleMode(h, &mode))
            ::SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);  // ANSI colours
    }
}

bool stdout_is_terminal() {
    DWORD mode = 0;
    // A console that understands ANSI colours (a pipe or a file is no console).
    return ::GetConsoleMode(::GetStdHandle(STD_OUTPUT_HANDLE), &mode) && (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING) != 0;
}

std::string ui_language() {
    wchar_t name[LOCALE_NAME_MAX_LENGTH] = {};
    const LANGID lang = ::GetUserDefaultUILanguage();
    if (::LCIDToLocaleName(MAKELCID(lang, SORT_DEFAULT), name, LOCALE_NAME_MAX_LENGTH, 0) == 0) return {};
    return narrow(name);
}

std::string_view os_name() { return "windows"; }

void release_free_memory() { (void)::_heapmin(); }

void lower_thread_priority() { ::SetThreadPriority(::GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL); }

std::string capture_rights_note() {
    std::string note;
    const long admin_only = npcap_parameter(L"AdminOnly");
    const long loopback = npcap_parameter(L"LoopbackSupport");
    if (loopback == 0) note = "Npcap was installed without loopback support";
    if (admin_only == 1) note += std::string(note.empty() ? "" : "; ") + "Npcap is restricted to administrators";
    return note;
}

// PATH only (SearchPathW would look in labtool's own folder and the current one first).
std::filesystem::path find_program(std::string_view program) {
    const DWORD size = ::GetEnvironmentVariableW(L"PATH", nullptr, 0);
    if (size == 0) return {};
    std::wstring path(size, L'\0');
    path.resize(::GetEnvironmentVariableW(L"PATH", path.data(), size));
    const std::wstring name = widen(program) + L".exe";
    for (std::size_t at = 0; at <= path.size();) {
        const std::size_t end = std::min(path.find(L';', at), path.size());
        if (end > at) {
            std::error_code ec;
            const auto candidate = std::filesystem::path(path.substr(at, end - at)) / name;
            if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
        }
        at = end + 1;
    }
    return {};
}

std::int64_t coarse_monotonic_ns() { return static_cast<std::int64_t>(::GetTickCount64()) * 1'000'000; }

std::int64_t coarse_realtime_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace labtool::platform
