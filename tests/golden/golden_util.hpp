// Shared by the golden tests: run the real labtool binary, compare its stdout with an expected
// file, or rewrite that file when LABTOOL_UPDATE_GOLDEN=1.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace labtool::golden {

namespace fs = std::filesystem;

/// Runs `command` through the shell; returns its stdout and sets `status` (as from pclose).
inline std::string run(const std::string& command, int& status) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    std::array<char, 65536> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    status = ::pclose(p);
    return out;
}

inline std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// First differing line, for a readable failure.
inline std::string first_difference(const std::string& want, const std::string& got) {
    std::istringstream a(want), b(got);
    std::string la, lb;
    for (int line = 1;; ++line) {
        const bool ha = static_cast<bool>(std::getline(a, la));
        const bool hb = static_cast<bool>(std::getline(b, lb));
        if (!ha && !hb) return "identical";
        if (la != lb || ha != hb)
            return "line " + std::to_string(line) + ":\n  expected: " + (ha ? la : "<end>") + "\n  actual:   " + (hb ? lb : "<end>");
    }
}

inline bool updating() {
    const char* update = std::getenv("LABTOOL_UPDATE_GOLDEN");
    return update != nullptr && std::string(update) == "1";
}

/// `labtool replay <capture> --lang <lang> <flags>` with a fixed locale and no colour.
inline std::string replay_command(const fs::path& capture, const std::string& lang, const std::string& flags) {
    return std::string("LC_ALL=C.UTF-8 NO_COLOR=1 '") + LABTOOL_BINARY + "' replay '" + capture.string() +
           "' --lang " + lang + " " + flags;
}

/// Runs `command` (must exit 0) and compares its stdout with `expected`, or rewrites `expected`
/// when LABTOOL_UPDATE_GOLDEN=1. `refresh` names the ctest filter for the failure hint.
inline void check_output(const std::string& command, const fs::path& expected, const std::string& refresh) {
    int status = 0;
    const std::string got = run(command + " 2>/dev/null", status);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
    if (updating()) {
        std::ofstream(expected, std::ios::binary) << got;
        std::cout << "[ UPDATED  ] " << expected << "\n";
        return;
    }
    ASSERT_TRUE(fs::exists(expected)) << expected << " is missing; create it with LABTOOL_UPDATE_GOLDEN=1";
    const std::string want = read(expected);
    EXPECT_EQ(want, got) << command << "\n" << first_difference(want, got)
                         << "\nIf the change is intended: LABTOOL_UPDATE_GOLDEN=1 ctest -R " << refresh
                         << ", review, commit.";
}

}  // namespace labtool::golden
