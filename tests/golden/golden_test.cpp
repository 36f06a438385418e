// Golden tests: `labtool replay` of committed captures must print exactly the expected text, in
// English and Chinese, at every level of detail. With LABTOOL_UPDATE_GOLDEN=1 the expected files
// are rewritten instead (review the diff, then commit).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;
const fs::path golden_dir = LABTOOL_GOLDEN_DIR;

struct Variant {
    const char* name;
    const char* flags;
};
constexpr Variant variants[] = {
    {"brief", "-q"}, {"default", ""}, {"verbose", "-v"}, {"hex", "-x"}, {"ladder", "--ladder"}, {"packets", "--packets"},
};

std::string run(const std::string& command, int& status) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    std::array<char, 65536> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    status = ::pclose(p);
    return out;
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// First differing line, for a readable failure.
std::string first_difference(const std::string& want, const std::string& got) {
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

void check(const std::string& capture, const std::string& lang, const Variant& v, const std::string& format = "text") {
    const fs::path expected = golden_dir / (capture + "." + lang + "." + (format == "json" ? std::string("json") : v.name) + ".txt");
    std::string command = std::string("LC_ALL=C.UTF-8 NO_COLOR=1 '") + LABTOOL_BINARY + "' replay '" +
                          (golden_dir / (capture + ".pcap")).string() + "' --lang " + lang + " " + v.flags;
    if (format == "json") command += " --format json";
    int status = 0;
    const std::string got = run(command + " 2>/dev/null", status);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
    const char* update = std::getenv("LABTOOL_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream(expected, std::ios::binary) << got;
        std::cout << "[ UPDATED  ] " << expected << "\n";
        return;
    }
    ASSERT_TRUE(fs::exists(expected)) << expected << " is missing; create it with LABTOOL_UPDATE_GOLDEN=1";
    const std::string want = read(expected);
    EXPECT_EQ(want, got) << command << "\n" << first_difference(want, got)
                         << "\nIf the change is intended: LABTOOL_UPDATE_GOLDEN=1 ctest -R Golden, review, commit.";
}

TEST(Golden, PageLoadEnglish) {
    for (const auto& v : variants) {
        SCOPED_TRACE(v.name);
        check("page_load", "en", v);
    }
}

TEST(Golden, PageLoadChinese) {
    for (const auto& v : variants) {
        SCOPED_TRACE(v.name);
        check("page_load", "zh", v);
    }
}

TEST(Golden, PageLoadJson) { check("page_load", "en", Variant{"json", "--packets"}, "json"); }

}  // namespace
