// The platform layer's promises, checked on the backend this build has: UTF-8 names, opening
// beneath a root (and nothing outside it), identity and times, reads at an offset, listings with
// a cap, the busy-port probe, the executable's own path.
#include "labtool/platform/clock.hpp"
#include "labtool/platform/files.hpp"
#include "labtool/platform/process.hpp"
#include "labtool/platform/socket_io.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>
#include <cstdlib>
#include <string>

namespace {
namespace fs = std::filesystem;
namespace platform = labtool::platform;

// A fresh folder under the system's temp folder, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("labtool-platform-" + std::to_string(rd()) + "-" + std::to_string(rd()));
        fs::create_directories(path);
        path = fs::canonical(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

TEST(Platform, Utf8NamesRoundTripAndOpen) {
    const std::string name = "实验 report.pcap";
    EXPECT_EQ(platform::to_utf8(platform::from_utf8(name)), name);
    TempDir dir;
    const std::string full = platform::to_utf8(dir.path) + "/" + name;
    std::FILE* out = platform::fopen_utf8(full, "wb");
    ASSERT_NE(out, nullptr);
    ASSERT_EQ(std::fwrite("abc", 1, 3, out), 3u);
    std::fclose(out);
    // The name on disk is the UTF-8 one, not its bytes read in some code page.
    EXPECT_TRUE(fs::exists(dir.path / platform::from_utf8(name)));
    std::FILE* in = platform::fopen_utf8(full, "rb");
    ASSERT_NE(in, nullptr);
    char buf[4] = {};
    EXPECT_EQ(std::fread(buf, 1, sizeof buf, in), 3u);
    std::fclose(in);
    EXPECT_EQ(std::string(buf, 3), "abc");
}

TEST(Platform, OpensBeneathTheRootAndReadsAtOffsets) {
    TempDir dir;
    write(dir.path / "sub" / "f.txt", "0123456789");
    std::error_code ec;
    const platform::File root = platform::open_directory(dir.path, ec);
    ASSERT_TRUE(root.is_open()) << ec.message();

    const platform::File f = platform::open_beneath(root, dir.path, "sub/f.txt", ec);
    ASSERT_TRUE(f.is_open()) << ec.message();
    platform::FileInfo info;
    ASSERT_TRUE(platform::file_info(f, info, ec)) << ec.message();
    EXPECT_EQ(info.kind, platform::FileKind::regular);
    EXPECT_EQ(info.size, 10u);
    char buf[8] = {};
    EXPECT_EQ(platform::read_at(f, buf, 4, 3), 4);
    EXPECT_EQ(std::string(buf, 4), "3456");
    EXPECT_EQ(platform::read_at(f, buf, 4, 10), 0);  // at the end
    EXPECT_EQ(platform::read_at(f, buf, 8, 8), 2);   // the last two bytes

    // The quick re-check sees the same file, and a replaced file as another one.
    platform::FileInfo again;
    ASSERT_TRUE(platform::stat_beneath(root, dir.path, "sub/f.txt", again));
    EXPECT_EQ(again.device, info.device);
    EXPECT_EQ(again.inode, info.inode);
    EXPECT_EQ(again.mtime_ns, info.mtime_ns);
    EXPECT_EQ(again.size, info.size);

    const platform::File sub = platform::open_beneath(root, dir.path, "sub", ec);
    ASSERT_TRUE(sub.is_open()) << ec.message();
    ASSERT_TRUE(platform::file_info(sub, info, ec));
    EXPECT_EQ(info.kind, platform::FileKind::directory);
}

TEST(Platform, RefusesWhatIsMissingOrOutsideTheRoot) {
    TempDir base;
    write(base.path / "secret.txt", "outside");
    write(base.path / "root" / "index.html", "inside");
    const fs::path root_path = base.path / "root";
    std::error_code ec;
    const platform::File root = platform::open_directory(root_path, ec);
    ASSERT_TRUE(root.is_open());

    EXPECT_FALSE(platform::open_beneath(root, root_path, "missing.txt", ec).is_open());
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);

    // A link out of the root, where this OS and user may make one.
    std::error_code link_ec;
    fs::create_symlink(base.path / "secret.txt", root_path / "out", link_ec);
    if (!link_ec) {
        EXPECT_FALSE(platform::open_beneath(root, root_path, "out", ec).is_open());
        EXPECT_TRUE(ec) << "a symlink out of the root was opened";
    }
    fs::create_directory_symlink(base.path, root_path / "up", link_ec);
    if (!link_ec) {
        EXPECT_FALSE(platform::open_beneath(root, root_path, "up/secret.txt", ec).is_open());
    }
}

#ifdef _WIN32
TEST(Platform, WindowsOpensOnlyTheExactNameAskedFor) {
    TempDir dir;
    write(dir.path / "index.html", "x");
    std::error_code ec;
    const platform::File root = platform::open_directory(dir.path, ec);
    ASSERT_TRUE(root.is_open());
    EXPECT_TRUE(platform::open_beneath(root, dir.path, "index.html", ec).is_open());
    EXPECT_FALSE(platform::open_beneath(root, dir.path, "INDEX.HTML", ec).is_open());
    // Win32 would strip the dot and open index.html; the \\?\ name keeps it.
    EXPECT_FALSE(platform::open_beneath(root, dir.path, "index.html.", ec).is_open());
    // A DOS device is a name like any other here: no such file.
    EXPECT_FALSE(platform::open_beneath(root, dir.path, "CON", ec).is_open());
}
#endif

TEST(Platform, ListsADirectoryUpToItsCap) {
    TempDir dir;
    for (int i = 0; i < 5; ++i) write(dir.path / ("f" + std::to_string(i) + ".txt"), "x");
    fs::create_directory(dir.path / "d");
    std::error_code ec;
    const platform::File root = platform::open_directory(dir.path, ec);
    std::vector<platform::DirEntry> all;
    ASSERT_TRUE(platform::list_directory(root, dir.path, all, ec)) << ec.message();
    ASSERT_EQ(all.size(), 6u);
    EXPECT_EQ(std::count_if(all.begin(), all.end(), [](const auto& e) { return e.is_directory; }), 1);
    std::vector<platform::DirEntry> some;
    ASSERT_TRUE(platform::list_directory(root, dir.path, some, ec, 3));
    EXPECT_EQ(some.size(), 3u);
}

TEST(Platform, PortProbeSeesAListenerAndAFreePort) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor listener(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = listener.local_endpoint().port();
    EXPECT_EQ(platform::probe_loopback_port(port, false), std::errc::address_in_use);
    listener.close();
    EXPECT_FALSE(platform::probe_loopback_port(port, false));
}

TEST(Platform, KnowsItsOwnExecutableAndItsOs) {
    // As main() does: the arguments once, argv[0] first (the portable backend finds the
    // executable from it; Linux, macOS and Windows ask the OS).
    std::string argv0 = ::testing::internal::GetArgvs().front();
    char* argv[] = {argv0.data(), nullptr};
    const auto args = platform::program_arguments(1, argv);
    ASSERT_FALSE(args.empty());
    EXPECT_NE(args.front().find("labtool_platform_test"), std::string::npos) << args.front();
    const auto exe = platform::executable_path();
    ASSERT_FALSE(exe.empty());
    EXPECT_EQ(exe.stem().string(), "labtool_platform_test");
    const std::string os(platform::os_name());
    if (std::string_view(LABTOOL_PLATFORM_BACKEND) == "windows") {
        EXPECT_EQ(os, "windows");
    } else {
        EXPECT_TRUE(os == "linux" || os == "macos" || os == "posix") << os;
    }
}

TEST(Platform, ClocksMove) {
    const auto a = platform::coarse_monotonic_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_GT(platform::coarse_monotonic_ns(), a);
    const auto wall = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(std::abs(platform::coarse_realtime_seconds() - wall), 2);
}

}  // namespace
