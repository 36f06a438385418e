// End-to-end test support: temp folders, free ports, and child processes (posix_spawn) that are
// always bounded in time and only ever signalled by the PID this code started.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Splits at every `sep` (empty fields kept).
inline std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> r;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            r.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    r.push_back(cur);
    return r;
}

inline std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_text(const fs::path& p, const std::string& s) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << s;
}

inline bool env_is(const char* name, const char* value) {
    const char* v = std::getenv(name);
    return v != nullptr && std::string(v) == value;
}

// CI sets LABTOOL_REQUIRE_LIVE=1: missing permissions or tools then fail instead of skipping.
inline bool require_live() { return env_is("LABTOOL_REQUIRE_LIVE", "1"); }

// Skips the test when a tool is missing, or fails it under LABTOOL_REQUIRE_LIVE=1.
#define E2E_REQUIRE_TOOL(available, what)                                                                    \
    do {                                                                                                      \
        if (!(available)) {                                                                                   \
            if (e2e::require_live())                                                                          \
                FAIL() << "LABTOOL_REQUIRE_LIVE=1 but " << (what) << " is not available";                    \
            else                                                                                              \
                GTEST_SKIP() << (what) << " is not available";                                                \
        }                                                                                                     \
    } while (0)

// Debian's Chromium, run headless as the brief says (bounded by timeout(1) to 60 s), with its
// profile in `profile` and `virtual_time_ms` of virtual time; the caller appends the action
// (--dump-dom, --screenshot=…) and the URL.
inline const fs::path chromium_binary = "/usr/bin/chromium";
inline std::vector<std::string> chromium_argv(const fs::path& profile, int virtual_time_ms) {
    fs::create_directories(profile);
    return {"timeout", "60", chromium_binary.string(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + profile.string(),
            "--virtual-time-budget=" + std::to_string(virtual_time_ms)};
}

// A per-test folder under the system temp dir, removed (with everything in it) on destruction.
// Set LABTOOL_E2E_KEEP=1 to keep it for inspection.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                ("labtool-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() {
        if (env_is("LABTOOL_E2E_KEEP", "1")) return;
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

// A port that was free a moment ago: bind 127.0.0.1:0, read the port, close.
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind(127.0.0.1:0) failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Starts argv[0] (searched on PATH) with stdin from /dev/null and stdout/stderr to the files.
// Returns the child's PID; throws if it cannot be started.
inline pid_t spawn(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // A shell that started us in the background may ignore SIGINT: give the child the defaults.
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("posix_spawnp(" + argv[0] + ") failed: " + std::to_string(rc));
    return pid;
}

inline int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Waits for `pid` at most `timeout`. Returns the exit code (128+signal when killed by one), or
// nothing on timeout (the child is then still running).
inline std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return decode_status(status);
        if (r < 0) return -1;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(20ms);
    }
}

// SIGKILL to exactly this PID, then reap it.
inline void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
}

struct Result {
    int exit_code = -1;
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Runs a command to completion, bounded by `timeout` (then SIGKILL to its PID only).
inline Result run_command(const std::vector<std::string>& argv, const fs::path& dir, std::chrono::milliseconds timeout) {
    static std::atomic<int> counter{0};
    const int n = counter++;
    const fs::path out = dir / ("cmd-" + std::to_string(n) + ".out");
    const fs::path err = dir / ("cmd-" + std::to_string(n) + ".err");
    Result r;
    const pid_t pid = spawn(argv, out, err);
    if (auto code = wait_for(pid, timeout)) {
        r.exit_code = *code;
    } else {
        r.timed_out = true;
        kill_and_reap(pid);
    }
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
}

inline bool on_path(const std::string& tool) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return false;
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) continue;
        const fs::path p = fs::path(dir) / tool;
        if (::access(p.c_str(), X_OK) == 0) return true;
    }
    return false;
}

// `labtool run ...` in the background: started, waited for (bounded) until it is serving, and
// stopped with SIGINT. The destructor kills it (by PID) if a test bailed out early.
class LiveRun {
public:
    static constexpr auto ready_timeout = 10s;
    static constexpr auto stop_timeout = 20s;

    LiveRun(std::vector<std::string> args, const fs::path& dir, std::string name = "labtool")
        : out_(dir / (name + ".out")), err_(dir / (name + ".err")) {
        pid_ = spawn(args, out_, err_);
    }
    ~LiveRun() {
        if (pid_ > 0) kill_and_reap(pid_);
    }
    LiveRun(const LiveRun&) = delete;
    LiveRun& operator=(const LiveRun&) = delete;

    // True once "labtool: serving" is on stderr. False if it exited first (exit_code() then has
    // its code) or did not get there within ready_timeout.
    bool wait_ready() {
        const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (read_text(err_).find("labtool: serving") != std::string::npos) return true;
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exit_code_ = decode_status(status);
                pid_ = -1;
                return false;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    // SIGINT (or `sig`), then wait (bounded). Returns the exit code, or nothing if it had to be killed.
    std::optional<int> stop(int sig = SIGINT) {
        if (pid_ <= 0) return exit_code_;
        ::kill(pid_, sig);
        auto code = wait_for(pid_, stop_timeout);
        if (!code) {
            kill_and_reap(pid_);
            pid_ = -1;
            return std::nullopt;
        }
        pid_ = -1;
        exit_code_ = *code;
        return code;
    }

    // SIGKILL now (as a crash or `kill -9` would), and reap it.
    void kill_now() {
        if (pid_ <= 0) return;
        kill_and_reap(pid_);
        pid_ = -1;
        exit_code_ = 128 + SIGKILL;
    }

    pid_t pid() const { return pid_; }
    std::optional<int> exit_code() const { return exit_code_; }
    std::string out() const { return read_text(out_); }
    std::string err() const { return read_text(err_); }
    bool no_permission() const { return err().find("no permission to capture") != std::string::npos; }

private:
    fs::path out_;
    fs::path err_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

}  // namespace e2e
