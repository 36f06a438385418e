// Black-box conformance suite of labtool's web server: the real binary (`labtool serve`) over
// real sockets, requests written byte for byte. One rule of the server per test (RFC 9110/9112,
// path safety, transport limits); every wait is bounded.
//
// Environment:
//   LABTOOL_CONFORMANCE_BINARY=/path/to/labtool   runs the suite against another build, or a
//       wrapper script such as `exec wine labtool.exe "$@"`. The wrapper must `exec`: the suite
//       only ever signals the PID it started, so anything the wrapper forks would outlive it.
//   LABTOOL_CONFORMANCE_START_TIMEOUT=<seconds>   how long a server may take to say "serving"
//       (default 10 s, as e2e::LiveRun; raise it for a server under wine).
//   LABTOOL_CONFORMANCE_SKIP=<patterns>           ':'-separated GoogleTest-style patterns
//       ("Conformance.NamesAreCaseSensitive:WithOptions.*") of tests to skip with a message; it
//       also works under ctest, which passes its own --gtest_filter for every test.
#include "process.hpp"
#include "raw_http.hpp"

#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <set>
#include <string_view>
#include <thread>

namespace {

namespace fs = std::filesystem;
using conformance::Connection;
using conformance::HttpResponse;
using conformance::request;
using namespace std::chrono_literals;

const std::string secret = "TOP-SECRET-OUTSIDE-THE-ROOT";
const std::string alias_marker = "WINDOWS-ALIAS-MUST-NOT-BE-SERVED";
constexpr std::size_t logo_size = 30000;
constexpr std::size_t big_size = 1536 * 1024;  // above the in-memory limit: streamed (sendfile)

std::string binary() {
    const char* b = std::getenv("LABTOOL_CONFORMANCE_BINARY");
    return b != nullptr && *b != '\0' ? std::string(b) : std::string(LABTOOL_BINARY);
}

// How long a server may take to start: LABTOOL_CONFORMANCE_START_TIMEOUT seconds, or LiveRun's.
std::chrono::milliseconds start_timeout() {
    const char* v = std::getenv("LABTOOL_CONFORMANCE_START_TIMEOUT");
    if (v != nullptr && *v != '\0') {
        char* end = nullptr;
        const long seconds = std::strtol(v, &end, 10);
        if (end != nullptr && *end == '\0' && seconds > 0 && seconds <= 3600) return std::chrono::seconds(seconds);
    }
    return e2e::LiveRun::ready_timeout;
}

// GoogleTest-style glob: '*' any run of characters, '?' one character.
bool glob_matches(std::string_view pattern, std::string_view text) {
    if (pattern.empty()) return text.empty();
    if (pattern.front() == '*')
        return glob_matches(pattern.substr(1), text) || (!text.empty() && glob_matches(pattern, text.substr(1)));
    return !text.empty() && (pattern.front() == '?' || pattern.front() == text.front()) &&
           glob_matches(pattern.substr(1), text.substr(1));
}

// True if the running test ("Suite.Name") matches a pattern of LABTOOL_CONFORMANCE_SKIP.
bool listed_for_skip() {
    const char* v = std::getenv("LABTOOL_CONFORMANCE_SKIP");
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (v == nullptr || info == nullptr) return false;
    const std::string name = std::string(info->test_suite_name()) + "." + info->name();
    for (const auto& pattern : e2e::split(v, ':')) {
        if (!pattern.empty() && glob_matches(pattern, name)) return true;
    }
    return false;
}

#define SKIP_IF_LISTED()                                                          \
    do {                                                                          \
        if (listed_for_skip()) GTEST_SKIP() << "listed in LABTOOL_CONFORMANCE_SKIP"; \
    } while (0)

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

void write_file(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    e2e::write_text(p, content);
}

// Sets a file's modification time to `t` (seconds since the epoch).
void set_mtime(const fs::path& p, std::time_t t) {
    timeval tv[2] = {{t, 0}, {t, 0}};
    ::utimes(p.c_str(), tv);
}

// The served tree: every kind of file the rules talk about, plus a secret beside the root.
struct Tree {
    e2e::TempDir base;
    fs::path root;
    std::string logo = random_bytes(logo_size, 1);
    std::string big = random_bytes(big_size, 2);

    Tree() : root(base.path() / "root") {
        write_file(base.path() / "secret.txt", secret);
        write_file(root / "index.html", "<!doctype html><title>lab</title><p>hello</p>\n");
        write_file(root / "page.html", std::string(1024, 'p'));
        write_file(root / "logo.jpg", logo);
        write_file(root / "big.bin", big);
        write_file(root / "Case.txt", "case\n");
        write_file(root / "notes.txt", "notes\n");
        write_file(root / "empty.txt", "");
        write_file(root / "%41.txt", "percent-named\n");
        for (const auto* name : {"style.css", "app.js", "mod.mjs", "data.json", "pic.svg", "img.png", "fav.ico",
                                 "mod.wasm", "font.woff2", "song.mp3", "clip.mp4", "blob.unknownext", "page.html.gz"})
            write_file(root / name, std::string("content of ") + name);
        write_file(root / "sub" / "index.html", "<p>sub</p>\n");
        write_file(root / "sub" / "file.txt", "sub file\n");
        write_file(root / "sub" / ".hidden", "hidden\n");
        write_file(root / "listing" / "a.txt", "a\n");
        write_file(root / "listing" / "<b>&.txt", "b\n");
        write_file(root / "listing" / ".dot", "d\n");
        fs::create_directories(root / "listing" / "child");
        fs::create_directories(root / "empty_dir");
        write_file(root / "\xc3\xbc" / "index.html", "<p>u-umlaut</p>\n");
        write_file(root / ".env", "PASSWORD=" + secret + "\n");
        write_file(root / ".hidden", "hidden dotfile " + secret + "\n");
        // Names Windows reads differently from their bytes. They can exist here, on Linux, and
        // must still never be served: the rules are the same on every OS.
        for (const auto* name : {"CON", "con.txt", "nul", "AUX.html", "LPT9.txt", "CONOUT$", "index.html.",
                                 "index.html ", ".hidden.", ".hidden ", "index.html::$DATA", "index.html:$DATA",
                                 "foo<bar", "foo|bar", "foo?bar", "foo*bar", "foo\"bar", "foo>bar"})
            write_file(root / name, alias_marker);
        write_file(root / "a" / "COM1", alias_marker);
        write_file(root / "c:" / "windows" / "win.ini", alias_marker);
        write_file(root / "sub." / "file.txt", alias_marker);
        write_file(root / "..." / "secret.txt", alias_marker);
        // Names that only look special.
        write_file(root / "\xe5\xae\x9e\xe9\xaa\x8c.html", "<p>experiment</p>\n");
        write_file(root / "my page.html", "<p>spaces</p>\n");
        write_file(root / "report~1.txt", "tilde\n");
        write_file(root / "console.txt", "console\n");
        write_file(root / ".git" / "config", "[core] " + secret + "\n");
        fs::create_symlink("../secret.txt", root / "link_out");
        fs::create_symlink(base.path() / "secret.txt", root / "link_abs_out");
        fs::create_directory_symlink(base.path(), root / "dirlink_out");
        fs::create_symlink("index.html", root / "link_in");
        fs::create_symlink(root / "notes.txt", root / "link_abs_in");
        // A fixed past mtime, so date-based conditionals are exact.
        set_mtime(root / "logo.jpg", 1'600'000'000);
    }
};

// `labtool serve` on a free port over `root`, quiet unless asked; killed by PID at the end.
class Served {
public:
    Served(const fs::path& root, const fs::path& dir, std::vector<std::string> extra = {}, bool quiet = true) {
        static int counter = 0;
        for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
            port_ = e2e::free_port();
            std::vector<std::string> args{binary(), "serve", "--port", std::to_string(port_), "--root", root.string()};
            if (quiet) args.emplace_back("-q");
            args.insert(args.end(), extra.begin(), extra.end());
            run_ = std::make_unique<e2e::LiveRun>(args, dir, "serve-" + std::to_string(counter++));
            ready_ = wait_ready(*run_);
            if (!ready_ && !run_->exit_code()) break;  // still running but silent: another port will not help
        }
    }
    bool ready() const { return ready_; }
    std::uint16_t port() const { return port_; }
    std::string err() const { return run_ ? run_->err() : std::string(); }
    void stop() {
        if (run_) run_->stop();
    }

private:
    // LiveRun::wait_ready waits at most its own 10 s; call it again (only while the child still
    // runs: after it exited, LiveRun has reaped it and must not wait again) until start_timeout.
    static bool wait_ready(e2e::LiveRun& run) {
        const auto deadline = std::chrono::steady_clock::now() + start_timeout();
        do {
            if (run.wait_ready()) return true;
            if (run.exit_code()) return false;
        } while (std::chrono::steady_clock::now() < deadline);
        return false;
    }

    std::unique_ptr<e2e::LiveRun> run_;
    std::uint16_t port_ = 0;
    bool ready_ = false;
};

class Conformance : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tree_ = new Tree();
        server_ = new Served(tree_->root, tree_->base.path());
    }
    static void TearDownTestSuite() {
        delete server_;
        delete tree_;
        server_ = nullptr;
        tree_ = nullptr;
    }
    void SetUp() override {
        SKIP_IF_LISTED();
        ASSERT_TRUE(server_->ready()) << "labtool serve did not start: " << server_->err();
    }

    static std::uint16_t port() { return server_->port(); }
    static const Tree& tree() { return *tree_; }

    // One request on a fresh connection.
    static HttpResponse get(std::string_view target, std::string_view extra = {}, std::string_view method = "GET") {
        Connection c(port());
        auto r = c.exchange(request(method, target, extra), method == "HEAD");
        return r.value_or(HttpResponse{});
    }
    static HttpResponse raw(std::string_view bytes, bool head = false) {
        Connection c(port());
        return c.exchange(bytes, head).value_or(HttpResponse{});
    }

    static void expect_safe_page(const HttpResponse& r, const std::string& what) {
        EXPECT_EQ(r.header("Content-Security-Policy").value_or(""), "default-src 'none'") << what;
        EXPECT_EQ(r.header("X-Content-Type-Options").value_or(""), "nosniff") << what;
        EXPECT_EQ(r.body.find(tree().base.path().string()), std::string::npos) << what << ": leaks the root";
        EXPECT_EQ(r.body.find(secret), std::string::npos) << what;
    }

    static Tree* tree_;
    static Served* server_;
};

Tree* Conformance::tree_ = nullptr;
Served* Conformance::server_ = nullptr;

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

TEST_F(Conformance, TraversalInEveryEncodingNeverLeavesTheRoot) {
    for (const std::string target :
         {"/../secret.txt", "/../../../../../../etc/passwd", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
          "/.%2e/secret.txt", "/%2e./secret.txt", "/%252e%252e/secret.txt", "/%25%32%65%25%32%65/secret.txt",
          "/..%2fsecret.txt", "/..%2Fsecret.txt", "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/..\\secret.txt",
          "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
          "/%c0%ae%c0%ae/secret.txt", "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
          "/%c1%9c..%c1%9csecret.txt", "//../secret.txt", "/./../secret.txt", "/..;/secret.txt",
          "http://127.0.0.1/../secret.txt", "/index.html%00", "/%00/../secret.txt", "/..%00/secret.txt",
          "/link_out", "/link_abs_out", "/dirlink_out/secret.txt", "/dirlink_out/../secret.txt"}) {
        const auto r = get(target);
        EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404) << target << " -> " << r.status;
        expect_safe_page(r, target);
    }
}

TEST_F(Conformance, MalformedEscapesNulControlBytesAndBadUtf8Are400) {
    for (const std::string target : {"/%zz", "/%2", "/%", "/abc%g1", "/index.html%00", "/%00", "/a%0d%0ab",
                                     "/%ff", "/%c3", "/%c0%ae", "/%e0%80%ae", "/%ed%a0%80", "/%f4%90%80%80",
                                     "/%5c", "/a%5c..%5csecret.txt"}) {
        const auto r = get(target);
        EXPECT_EQ(r.status, 400) << target;
        expect_safe_page(r, target);
    }
}

TEST_F(Conformance, PercentDecodingHappensExactlyOnce) {
    EXPECT_EQ(get("/%2541.txt").status, 200);  // "%2541" decodes to the literal name "%41.txt"
    EXPECT_EQ(get("/%2541.txt").body, "percent-named\n");
    EXPECT_EQ(get("/%41.txt").status, 404);  // "A.txt" does not exist
    EXPECT_EQ(get("/%6eotes.txt").status, 200);  // an escaped ordinary letter is fine
}

TEST_F(Conformance, DotSegmentsInsideTheRootAreRemoved) {
    EXPECT_EQ(get("/sub/../notes.txt").body, "notes\n");
    EXPECT_EQ(get("/./sub/./file.txt").body, "sub file\n");
    EXPECT_EQ(get("/sub/%2e%2e/notes.txt").body, "notes\n");
    EXPECT_EQ(get("//sub//file.txt").body, "sub file\n");
}

TEST_F(Conformance, SymlinksInsideTheRootWorkOutsideAreRefused) {
    EXPECT_EQ(get("/link_in").status, 200);
    EXPECT_EQ(get("/link_abs_in").body, "notes\n");
    EXPECT_EQ(get("/link_out").status, 404);
    EXPECT_EQ(get("/link_abs_out").status, 404);
    EXPECT_EQ(get("/dirlink_out/secret.txt").status, 404);
}

TEST_F(Conformance, NamesAreCaseSensitive) {
    EXPECT_EQ(get("/Case.txt").status, 200);
    EXPECT_EQ(get("/case.txt").status, 404);
    EXPECT_EQ(get("/CASE.TXT").status, 404);
}

TEST_F(Conformance, FileWithTrailingSlashIs404) {
    EXPECT_EQ(get("/notes.txt/").status, 404);
    EXPECT_EQ(get("/notes.txt/.").status, 404);
}

TEST_F(Conformance, DotfilesAndDotDirectoriesAre404ByDefault) {
    for (const std::string target : {"/.env", "/%2eenv", "/.git/config", "/.git/", "/.git", "/sub/.hidden",
                                     "/sub/%2Ehidden"}) {
        const auto r = get(target);
        EXPECT_EQ(r.status, 404) << target;
        EXPECT_EQ(r.body.find(secret), std::string::npos) << target;
    }
}

TEST_F(Conformance, AbsoluteFormTargetsAreAccepted) {
    const auto r = get("http://127.0.0.1:" + std::to_string(port()) + "/notes.txt");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "notes\n");
    EXPECT_EQ(get("HTTP://127.0.0.1/sub/file.txt").body, "sub file\n");
}

// ---------------------------------------------------------------------------------------------
// Windows path spellings: names Windows reads differently from their bytes get the same answer on
// every OS, before anything is opened. The tree holds such files here (on Linux) with
// alias_marker inside: serving one would show the name reached the file system.
// ---------------------------------------------------------------------------------------------

class WindowsPaths : public Conformance {
protected:
    static void expect_refused(const std::string& target, int status) {
        const auto r = get(target);
        EXPECT_EQ(r.status, status) << target;
        expect_safe_page(r, target);
        EXPECT_EQ(r.body.find(alias_marker), std::string::npos) << target << ": the name reached the file system";
        EXPECT_EQ(r.body.find("<p>hello</p>"), std::string::npos) << target << ": served index.html";
        EXPECT_EQ(r.body.find("hidden dotfile"), std::string::npos) << target << ": served a dotfile";
    }
};

TEST_F(WindowsPaths, DriveLettersAndStreamsAre404) {
    for (const std::string target : {"/c:/windows/win.ini", "/C:/windows/win.ini", "/c%3a/windows/win.ini", "/C:",
                                     "/C%3A", "/index.html::$DATA", "/index.html:$DATA", "/index.html::%24DATA",
                                     "/index.html%3A%3A$DATA", "/.hidden::$DATA", "/sub/file.txt:stream",
                                     "/..:/secret.txt", "/..::$INDEX_ALLOCATION/secret.txt"})
        expect_refused(target, 404);
}

TEST_F(WindowsPaths, BackslashesAre400RawOrEncoded) {
    for (const std::string target : {"/C:%5Cwindows%5Cwin.ini", "/c:\\windows\\win.ini", "/..%5c..%5csecret",
                                     "/..%5c..%5csecret.txt", "/%2e%2e%5csecret", "/%2e%2e%5Csecret.txt",
                                     "/sub%5c..%5c..%5csecret.txt", "/..\\secret.txt", "/%5c%5c127.0.0.1%5cc$"})
        expect_refused(target, 400);
}

TEST_F(WindowsPaths, DosDeviceNamesAre404AndNeverOpened) {
    // Each is answered at once (get() waits at most conformance::io_timeout): opening CON or
    // CONIN$ on Windows would block on the console instead.
    for (const std::string target : {"/CON", "/con.txt", "/nul", "/AUX.html", "/a/COM1", "/LPT9.txt", "/CONOUT$",
                                     "/CONIN$", "/prn", "/a/Com1.log", "/NUL.tar.gz", "/con%20.txt", "/COM%C2%B9",
                                     "/lpt%C2%B2.txt", "/CON/index.html", "/CON/../index.html"})
        expect_refused(target, 404);
    const auto look_alike = get("/console.txt");
    EXPECT_EQ(look_alike.status, 200);
    EXPECT_EQ(look_alike.body, "console\n");
}

TEST_F(WindowsPaths, TrailingDotsAndSpacesAre404NotTheStrippedName) {
    for (const std::string target : {"/.hidden.", "/.hidden%20", "/index.html.", "/index.html%20", "/index.html%2e",
                                     "/index.html%2E%20.", "/sub./file.txt", "/sub%20/file.txt", "/.../secret.txt",
                                     "/%2e%2e%2e/secret.txt", "/..%2e/secret.txt", "/..%20/secret.txt",
                                     "/sub/..%20/..%20/secret.txt", "/.%20/index.html", "/%20"})
        expect_refused(target, 404);
}

TEST_F(WindowsPaths, CharactersWindowsForbidsAre404) {
    for (const std::string target : {"/foo<bar", "/foo%3Cbar", "/foo>bar", "/foo%3ebar", "/foo\"bar", "/foo%22bar",
                                     "/foo|bar", "/foo%7Cbar", "/foo*bar", "/foo%2Abar", "/foo%3Fbar",
                                     "/foo%3fbar?x=1"})
        expect_refused(target, 404);
    // A raw '?' starts the query: "/index.html?x" is index.html.
    EXPECT_EQ(get("/index.html?foo%3Fbar").status, 200);
}

TEST_F(WindowsPaths, ShortNameAliasesAreNeverServed) {
    // 8.3 names are not refused by pattern (real names may hold "~1"); on Windows the backend
    // compares each opened handle's final path with the request, so an alias gets the same 404
    // as here, where no such file exists. Windows' own aliases look like HIDDEN~1; wine 8 hashes
    // the long name instead (".hidden" is _HID~45N, ".env" _ENV~3EE, ".git" _GIT~IBP,
    // "index.html" INDE~P2W.HTM), so both kinds are asked for.
    for (const std::string target : {"/HIDDEN~1", "/ENV~1", "/GIT~1/config", "/INDEX~1.HTM", "/SECRET~1.TXT",
                                     "/sub/HIDDEN~1", "/%2e%2e/SECRET~1.TXT", "/_HID~45N", "/_ENV~3EE",
                                     "/_GIT~IBP/config", "/sub/_HID~45N", "/INDE~P2W.HTM", "/inde~p2w.htm"})
        expect_refused(target, 404);
    const auto tilde = get("/report~1.txt");
    EXPECT_EQ(tilde.status, 200);
    EXPECT_EQ(tilde.body, "tilde\n");
}

TEST_F(WindowsPaths, Utf8AndSpacedNamesStillWork) {
    auto r = get("/%E5%AE%9E%E9%AA%8C.html");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "<p>experiment</p>\n");
    r = get("/my%20page.html");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "<p>spaces</p>\n");
    EXPECT_EQ(get("/%2ehidden").status, 404);  // dotfiles stay hidden by name
}

// ---------------------------------------------------------------------------------------------
// Directories and redirects
// ---------------------------------------------------------------------------------------------

TEST_F(Conformance, DirectoryWithoutSlashIs301WithQueryKept) {
    auto r = get("/sub");
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("Location").value_or(""), "/sub/");
    EXPECT_NE(r.body.find("Redirecting to"), std::string::npos);
    expect_safe_page(r, "/sub");
    r = get("/sub?a=1&b=%2F");
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("Location").value_or(""), "/sub/?a=1&b=%2F");
    EXPECT_EQ(get("/sub/").body, "<p>sub</p>\n");
    EXPECT_EQ(get("/").body, "<!doctype html><title>lab</title><p>hello</p>\n");
}

TEST_F(Conformance, RedirectIsNeverProtocolRelative) {
    for (const std::string target : {"//sub", "///sub", "//evil.example/%2e%2e/sub", "/%2fsub", "/%2f%2fsub",
                                     "//evil.example/../sub", "/.//sub", "/%2F/evil.example/../sub"}) {
        const auto r = get(target);
        ASSERT_EQ(r.status, 301) << target;
        const auto loc = r.header("Location").value_or("");
        EXPECT_EQ(loc, "/sub/") << target;
        EXPECT_NE(loc.substr(0, 2), "//") << target;
        EXPECT_EQ(loc.find('\\'), std::string::npos) << target;
    }
    for (const std::string target : {"/\\evil.example", "/%5cevil.example", "/%5c%5cevil.example/"}) {
        const auto r = get(target);
        EXPECT_EQ(r.status, 400) << target;  // a backslash is never a path separator here
        EXPECT_FALSE(r.has("Location")) << target;
    }
}

TEST_F(Conformance, NonAsciiDirectoryNamesArePercentEncodedInLocation) {
    const auto r = get("/%C3%BC");
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("Location").value_or(""), "/%C3%BC/");
    EXPECT_EQ(get("/%C3%BC/").body, "<p>u-umlaut</p>\n");
}

TEST_F(Conformance, DirectoryWithoutIndexIs404WithoutListing) {
    EXPECT_EQ(get("/empty_dir/").status, 404);
    const auto r = get("/listing/");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body.find("a.txt"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Methods and request syntax
// ---------------------------------------------------------------------------------------------

TEST_F(Conformance, HeadHasTheSameStatusAndHeadersAsGetAndNoBody) {
    for (const std::string target : {"/", "/logo.jpg", "/big.bin", "/missing", "/sub", "/%zz", "/empty.txt"}) {
        Connection c(port());
        const auto h = c.exchange(request("HEAD", target), /*head=*/true);
        ASSERT_TRUE(h) << target;
        // Nothing of a body may follow: the next response on the connection must start cleanly.
        const auto g = c.exchange(request("GET", target));
        ASSERT_TRUE(g) << target;
        EXPECT_EQ(h->status, g->status) << target;
        EXPECT_EQ(h->headers_without_date(), g->headers_without_date()) << target;
        EXPECT_TRUE(c.drain(200ms).empty()) << target;
    }
}

TEST_F(Conformance, OtherMethodsAre405WithAllowAndNothingEchoed) {
    for (const std::string method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"}) {
        std::string req = method + " /index.html?q=ECHO-MARKER HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Echo: ECHO-MARKER\r\n";
        req += "Content-Length: 11\r\n\r\nECHO-MARKER";
        const auto r = raw(req);
        EXPECT_EQ(r.status, 405) << method;
        EXPECT_EQ(r.header("Allow").value_or(""), "GET, HEAD") << method;
        EXPECT_EQ(r.body.find("ECHO-MARKER"), std::string::npos) << method;
        EXPECT_EQ(r.body.find("X-Echo"), std::string::npos) << method;
        expect_safe_page(r, method);
    }
    const auto r = raw("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("Allow").value_or(""), "GET, HEAD");
}

TEST_F(Conformance, UnknownOrLowercaseMethodIsRejected) {
    for (const std::string method : {"get", "Get", "FOO", "BREW"}) {
        const auto r = raw(method + " / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        EXPECT_EQ(r.status, 501) << method;
    }
}

TEST_F(Conformance, Http11WithoutHostIs400Http10IsFine) {
    EXPECT_EQ(raw("GET / HTTP/1.1\r\n\r\n").status, 400);
    EXPECT_EQ(raw("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
    EXPECT_EQ(raw("GET / HTTP/1.0\r\n\r\n").status, 200);
}

TEST_F(Conformance, ContentLengthWithTransferEncodingIs400) {
    const auto r = raw(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 400);
}

// RFC 9112 section 6.3: with Transfer-Encoding, a body's length is known only when chunked is the
// final coding, and this server decodes no other: anything but exactly "chunked" is 400 and close.
// The bytes after such a head must never be answered as a request of their own (smuggling).
TEST_F(Conformance, TransferEncodingOtherThanChunkedAloneIs400AndClose) {
    const std::string smuggled = request("GET", "/notes.txt");
    for (const std::string te : {"xchunked", "chunked, identity", "identity", "gzip, chunked", "chunked;ext=1",
                                 "gzip\r\nTransfer-Encoding: chunked"}) {
        Connection c(port());
        const auto r = c.exchange(request("POST", "/", "Transfer-Encoding: " + te + "\r\n") + "0\r\n\r\n" + smuggled);
        ASSERT_TRUE(r) << te;
        EXPECT_EQ(r->status, 400) << te;
        EXPECT_EQ(r->header("Connection").value_or(""), "close") << te;
        EXPECT_TRUE(c.closed_by_server(2s)) << te << ": the bytes after the head were answered";
    }
    // Transfer-Encoding with Content-Length (either order), or in HTTP/1.0: 400 and close too.
    for (const std::string fields : {"Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
                                     "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"}) {
        Connection c(port());
        const auto r = c.exchange(request("GET", "/", fields) + "0\r\n\r\n" + smuggled);
        ASSERT_TRUE(r) << fields;
        EXPECT_EQ(r->status, 400) << fields;
        EXPECT_TRUE(c.closed_by_server(2s)) << fields;
    }
    {
        Connection c(port());
        const auto r = c.exchange("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400);
        EXPECT_TRUE(c.closed_by_server(2s));
    }
    // Exactly chunked: the body is read (and skipped); the next request on the connection is answered.
    Connection c(port());
    const auto r = c.exchange(request("GET", "/notes.txt", "Transfer-Encoding: chunked\r\n") +
                              "5\r\nhello\r\n0\r\n\r\n" + smuggled);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    const auto next = c.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "notes\n");
}

// RFC 9112 section 3.2: whitespace inside the request-target makes the request line malformed:
// 400, not 505 (the line only looks like it ends in an unknown version).
TEST_F(Conformance, WhitespaceInTheTargetIs400) {
    for (const std::string line : {"GET /some thing.txt HTTP/1.1", "GET /my page.html HTTP/1.1", "GET /a b HTTP/2.0",
                                   "GET /notes.txt  HTTP/1.1"}) {
        Connection c(port());
        const auto r = c.exchange(line + "\r\nHost: 127.0.0.1\r\n\r\n");
        ASSERT_TRUE(r) << line;
        EXPECT_EQ(r->status, 400) << line;
        EXPECT_TRUE(c.closed_by_server(2s)) << line;
    }
    EXPECT_EQ(get("/my%20page.html").status, 200);  // encoded, the space is fine
}

TEST_F(Conformance, GarbageIs400AndClose) {
    Connection c(port());
    const auto r = c.exchange(std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 15));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.closed_by_server());
    EXPECT_EQ(raw("GET\r\n\r\n").status, 400);
    EXPECT_EQ(raw("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n").status, 400);
    EXPECT_EQ(raw("GET / HTTP/1.x\r\nHost: x\r\n\r\n").status, 400);
    // A well-formed request line of a version this server does not speak: 505 (RFC 9110 §15.6.6).
    EXPECT_EQ(raw("GET / HTTP/2.0\r\nHost: x\r\n\r\n").status, 505);
    EXPECT_EQ(raw("GET / HTTP/3.0\r\nHost: x\r\n\r\n").status, 505);
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

TEST_F(Conformance, ContentTypeFromTheMimeTable) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"/index.html", "text/html; charset=utf-8"},
        {"/style.css", "text/css; charset=utf-8"},
        {"/app.js", "text/javascript; charset=utf-8"},
        {"/mod.mjs", "text/javascript; charset=utf-8"},
        {"/data.json", "application/json; charset=utf-8"},
        {"/notes.txt", "text/plain; charset=utf-8"},
        {"/pic.svg", "image/svg+xml; charset=utf-8"},
        {"/img.png", "image/png"},
        {"/logo.jpg", "image/jpeg"},
        {"/fav.ico", "image/x-icon"},
        {"/mod.wasm", "application/wasm"},
        {"/font.woff2", "font/woff2"},
        {"/song.mp3", "audio/mpeg"},
        {"/clip.mp4", "video/mp4"},
        {"/blob.unknownext", "application/octet-stream"},
        {"/page.html.gz", "application/gzip"},
    };
    for (const auto& [target, type] : cases) {
        const auto r = get(target);
        EXPECT_EQ(r.status, 200) << target;
        EXPECT_EQ(r.header("Content-Type").value_or(""), type) << target;
    }
}

TEST_F(Conformance, EveryFileCarriesValidatorsAndCacheHeaders) {
    const auto r = get("/logo.jpg", "Accept-Encoding: gzip, br\r\n");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, tree().logo);
    EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(logo_size));
    EXPECT_EQ(r.header("Last-Modified").value_or(""), "Sun, 13 Sep 2020 12:26:40 GMT");
    const auto etag = r.header("ETag").value_or("");
    ASSERT_GE(etag.size(), 3u);
    EXPECT_EQ(etag.front(), '"') << "strong ETag expected: " << etag;
    EXPECT_EQ(etag.back(), '"');
    EXPECT_EQ(r.header("Accept-Ranges").value_or(""), "bytes");
    EXPECT_TRUE(r.has("Date"));
    EXPECT_EQ(r.header("Cache-Control").value_or(""), "public, max-age=0");
    EXPECT_FALSE(r.has("Access-Control-Allow-Origin"));
    EXPECT_FALSE(r.has("Content-Encoding"));
    EXPECT_FALSE(r.has("Transfer-Encoding"));
    // A .gz file is sent as it is, never with Content-Encoding.
    const auto gz = get("/page.html.gz", "Accept-Encoding: gzip\r\n");
    EXPECT_FALSE(gz.has("Content-Encoding"));
}

TEST_F(Conformance, EditedFileIsServedFreshWithANewETag) {
    const fs::path p = tree().root / "edited.txt";
    write_file(p, "version one\n");
    set_mtime(p, 1'700'000'000);
    const auto a = get("/edited.txt");
    ASSERT_EQ(a.body, "version one\n");
    write_file(p, "version two\n");  // same size: only the mtime tells them apart
    set_mtime(p, 1'700'000'100);
    const auto b = get("/edited.txt");
    EXPECT_EQ(b.body, "version two\n");
    EXPECT_NE(a.header("ETag"), b.header("ETag"));
    // The old validator now gets the full new file, not a 304.
    const auto c = get("/edited.txt", "If-None-Match: " + a.header("ETag").value_or("") + "\r\n");
    EXPECT_EQ(c.status, 200);
}

// Small files are served from memory after one stat(2) of the path. These check that the
// shortcut never serves what the full path (openat2 beneath the root) would refuse.
TEST_F(Conformance, CachedFileReplacedBySymlinkOutIsRefused) {
    const fs::path p = tree().root / "swapped.txt";
    write_file(p, "inside\n");
    ASSERT_EQ(get("/swapped.txt").body, "inside\n");  // now cached
    ASSERT_EQ(get("/swapped.txt").body, "inside\n");
    fs::remove(p);
    fs::create_symlink(tree().base.path() / "secret.txt", p);
    const auto r = get("/swapped.txt");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body.find(secret), std::string::npos);
    EXPECT_EQ(r.body.find("inside"), std::string::npos);
}

TEST_F(Conformance, EditWithTheOldMtimePutBackIsStillServedFresh) {
    // Same size, same mtime: only the change time (ctime) shows that the file was rewritten.
    const fs::path p = tree().root / "sneaky.txt";
    write_file(p, "version one\n");
    set_mtime(p, 1'700'000'000);
    ASSERT_EQ(get("/sneaky.txt").body, "version one\n");
    std::this_thread::sleep_for(20ms);  // a later ctime even on coarse clocks
    write_file(p, "version two\n");
    set_mtime(p, 1'700'000'000);
    EXPECT_EQ(get("/sneaky.txt").body, "version two\n");
}

TEST_F(Conformance, CachedDirectoryIndexFollowsTheFileSystem) {
    write_file(tree().root / "cachedir" / "index.html", "<p>one</p>\n");
    ASSERT_EQ(get("/cachedir/").body, "<p>one</p>\n");
    fs::remove(tree().root / "cachedir" / "index.html");
    EXPECT_EQ(get("/cachedir/").status, 404);
    fs::remove(tree().root / "cachedir");
    write_file(tree().root / "cachedir", "now a file\n");
    EXPECT_EQ(get("/cachedir/").status, 404);  // a file is not a folder
    EXPECT_EQ(get("/cachedir").body, "now a file\n");
}

TEST_F(Conformance, ErrorPagesAreSmallSafeHtml) {
    for (const auto& [target, status] : std::vector<std::pair<std::string, int>>{
             {"/missing.html", 404}, {"/%zz", 400}, {"/.env", 404}}) {
        const auto r = get(target);
        EXPECT_EQ(r.status, status) << target;
        EXPECT_NE(r.header("Content-Type").value_or("").find("text/html"), std::string::npos) << target;
        EXPECT_LT(r.body.size(), 1024u) << target;
        expect_safe_page(r, target);
    }
    const auto r = get("/missing-<script>alert(1)</script>.html");
    EXPECT_EQ(r.body.find("<script>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Conditional requests (RFC 9110 section 13.2.2 order)
// ---------------------------------------------------------------------------------------------

class Conditional : public Conformance {
protected:
    void SetUp() override {
        Conformance::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        const auto r = get("/logo.jpg");
        etag_ = r.header("ETag").value_or("");
        last_modified_ = r.header("Last-Modified").value_or("");
        ASSERT_FALSE(etag_.empty());
    }
    static void expect_304(const HttpResponse& r, const std::string& what) {
        EXPECT_EQ(r.status, 304) << what;
        EXPECT_TRUE(r.has("ETag")) << what;
        EXPECT_TRUE(r.has("Last-Modified")) << what;
        EXPECT_TRUE(r.has("Cache-Control")) << what;
        EXPECT_FALSE(r.has("Content-Length")) << what;
        EXPECT_FALSE(r.has("Content-Type")) << what;
    }
    std::string etag_;
    std::string last_modified_;
};

TEST_F(Conditional, IfNoneMatchWithListsStarAndWeakComparison) {
    expect_304(get("/logo.jpg", "If-None-Match: " + etag_ + "\r\n"), "exact");
    expect_304(get("/logo.jpg", "If-None-Match: \"other\", " + etag_ + "\r\n"), "list");
    expect_304(get("/logo.jpg", "If-None-Match: W/" + etag_ + "\r\n"), "weak");
    expect_304(get("/logo.jpg", "If-None-Match: *\r\n"), "star");
    expect_304(get("/logo.jpg", "If-None-Match: \"a\"\r\nIf-None-Match: " + etag_ + "\r\n"), "two fields");
    EXPECT_EQ(get("/logo.jpg", "If-None-Match: \"other\"\r\n").status, 200);
    // HEAD too, and nothing is left on the wire after a 304.
    Connection c(port());
    auto r = c.exchange(request("HEAD", "/logo.jpg", "If-None-Match: " + etag_ + "\r\n"), true);
    ASSERT_TRUE(r);
    expect_304(*r, "HEAD");
    r = c.exchange(request("GET", "/logo.jpg", "If-None-Match: " + etag_ + "\r\n"));
    ASSERT_TRUE(r);
    expect_304(*r, "GET after HEAD");
    EXPECT_TRUE(c.drain(200ms).empty());
}

TEST_F(Conditional, IfModifiedSinceOnlyWithoutIfNoneMatch) {
    expect_304(get("/logo.jpg", "If-Modified-Since: " + last_modified_ + "\r\n"), "same date");
    expect_304(get("/logo.jpg", "If-Modified-Since: Sun, 13 Sep 2020 12:30:00 GMT\r\n"), "later");
    expect_304(get("/logo.jpg", "If-Modified-Since: Sunday, 13-Sep-20 12:26:40 GMT\r\n"), "RFC 850");
    expect_304(get("/logo.jpg", "If-Modified-Since: Sun Sep 13 12:26:40 2020\r\n"), "asctime");
    EXPECT_EQ(get("/logo.jpg", "If-Modified-Since: Sun, 13 Sep 2020 12:26:39 GMT\r\n").status, 200);
    EXPECT_EQ(get("/logo.jpg", "If-Modified-Since: yesterday\r\n").status, 200);
    EXPECT_EQ(get("/logo.jpg", "If-Modified-Since: Sun, 31 Feb 2020 12:26:40 GMT\r\n").status, 200);
    // If-None-Match present and not matching: If-Modified-Since is not even looked at.
    EXPECT_EQ(get("/logo.jpg", "If-None-Match: \"other\"\r\nIf-Modified-Since: " + last_modified_ + "\r\n").status,
              200);
}

TEST_F(Conditional, IfMatchAndIfUnmodifiedSinceGive412) {
    EXPECT_EQ(get("/logo.jpg", "If-Match: " + etag_ + "\r\n").status, 200);
    EXPECT_EQ(get("/logo.jpg", "If-Match: *\r\n").status, 200);
    EXPECT_EQ(get("/logo.jpg", "If-Match: \"x\", " + etag_ + "\r\n").status, 200);
    auto r = get("/logo.jpg", "If-Match: \"other\"\r\n");
    EXPECT_EQ(r.status, 412);
    expect_safe_page(r, "412");
    EXPECT_EQ(get("/logo.jpg", "If-Match: W/" + etag_ + "\r\n").status, 412);  // strong comparison
    EXPECT_EQ(get("/logo.jpg", "If-Unmodified-Since: Sun, 13 Sep 2020 12:26:39 GMT\r\n").status, 412);
    EXPECT_EQ(get("/logo.jpg", "If-Unmodified-Since: " + last_modified_ + "\r\n").status, 200);
    EXPECT_EQ(get("/logo.jpg", "If-Unmodified-Since: not a date\r\n").status, 200);
    // If-Match wins over If-Unmodified-Since (which is then ignored).
    EXPECT_EQ(
        get("/logo.jpg", "If-Match: " + etag_ + "\r\nIf-Unmodified-Since: Sun, 13 Sep 2020 12:26:39 GMT\r\n").status,
        200);
}

// Dates far from any file time (after 2262, before 1970, year 1) compare like others: a date in
// the future is later than the file's mtime (304 / proceed), one in the distant past earlier.
// A year of five digits fits no HTTP-date format: the field is ignored (RFC 9110 §13.1.3, .4).
TEST_F(Conditional, DatesFarInTheFutureOrPast) {
    for (const std::string future : {"Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 12 Apr 2262 00:00:00 GMT",
                                     "Friday, 31-Dec-49 23:59:59 GMT", "Fri Dec 31 23:59:59 9999"}) {
        expect_304(get("/logo.jpg", "If-Modified-Since: " + future + "\r\n"), future);
        EXPECT_EQ(get("/logo.jpg", "If-Unmodified-Since: " + future + "\r\n").status, 200) << future;
    }
    for (const std::string past : {"Mon, 01 Jan 0001 00:00:00 GMT", "Sat, 01 Jan 1600 00:00:00 GMT",
                                   "Wed, 31 Dec 1969 23:59:59 GMT"}) {
        EXPECT_EQ(get("/logo.jpg", "If-Modified-Since: " + past + "\r\n").status, 200) << past;
        EXPECT_EQ(get("/logo.jpg", "If-Unmodified-Since: " + past + "\r\n").status, 412) << past;
    }
    for (const std::string invalid : {"Sun, 01 Jan 99999 00:00:00 GMT", "Sun, 01 Jan 292277026596 00:00:00 GMT"}) {
        EXPECT_EQ(get("/logo.jpg", "If-Modified-Since: " + invalid + "\r\n").status, 200) << invalid;
        EXPECT_EQ(get("/logo.jpg", "If-Unmodified-Since: " + invalid + "\r\n").status, 200) << invalid;
    }
}

TEST_F(Conditional, PreconditionOrderAndRangeLast) {
    // 412 is decided before 304 ...
    EXPECT_EQ(get("/logo.jpg", "If-Match: \"other\"\r\nIf-None-Match: " + etag_ + "\r\n").status, 412);
    // ... and both before Range.
    EXPECT_EQ(get("/logo.jpg", "If-Match: \"other\"\r\nRange: bytes=0-9\r\n").status, 412);
    expect_304(get("/logo.jpg", "If-None-Match: " + etag_ + "\r\nRange: bytes=0-9\r\n"), "304 before range");
    EXPECT_EQ(get("/logo.jpg", "If-Match: " + etag_ + "\r\nRange: bytes=0-9\r\n").status, 206);
}

// ---------------------------------------------------------------------------------------------
// Ranges (RFC 9110 section 14)
// ---------------------------------------------------------------------------------------------

class Ranges : public Conformance {
protected:
    void expect_206(const std::string& range, std::size_t first, std::size_t last, const std::string& target = "/logo.jpg") {
        const std::string& file = target == "/logo.jpg" ? tree().logo : tree().big;
        const auto r = get(target, "Range: " + range + "\r\n");
        EXPECT_EQ(r.status, 206) << range;
        EXPECT_EQ(r.header("Content-Range").value_or(""),
                  "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(file.size()))
            << range;
        EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(last - first + 1)) << range;
        EXPECT_TRUE(r.body == file.substr(first, last - first + 1)) << range;
    }
    void expect_200(const std::string& range) {
        const auto r = get("/logo.jpg", "Range: " + range + "\r\n");
        EXPECT_EQ(r.status, 200) << range;
        EXPECT_FALSE(r.has("Content-Range")) << range;
        EXPECT_EQ(r.body.size(), logo_size) << range;
    }
    void expect_416(const std::string& range, const std::string& target = "/logo.jpg", std::size_t size = logo_size) {
        const auto r = get(target, "Range: " + range + "\r\n");
        EXPECT_EQ(r.status, 416) << range;
        EXPECT_EQ(r.header("Content-Range").value_or(""), "bytes */" + std::to_string(size)) << range;
    }
};

TEST_F(Ranges, SingleRangesInEveryForm) {
    expect_206("bytes=0-99", 0, 99);
    expect_206("bytes=0-0", 0, 0);
    expect_206("bytes=500-", 500, logo_size - 1);
    expect_206("bytes=-500", logo_size - 500, logo_size - 1);
    expect_206("bytes=-999999", 0, logo_size - 1);             // suffix clamped to the file
    expect_206("bytes=29990-99999", 29990, logo_size - 1);     // last-pos clamped to the end
    expect_206("bytes=0-18446744073709551615", 0, logo_size - 1);
    expect_206("BYTES = 10-19", 10, 19);                        // unit is case-insensitive, OWS
    expect_206("bytes=0-", 0, logo_size - 1);
}

TEST_F(Ranges, UnsatisfiableIs416WithStarContentRange) {
    expect_416("bytes=30000-");
    expect_416("bytes=99999-100000");
    expect_416("bytes=-0");
    expect_416("bytes=30000-30010,40000-");
    expect_416("bytes=0-", "/empty.txt", 0);
}

TEST_F(Ranges, UnknownUnitsAndGarbageAreIgnored) {
    for (const std::string range : {"items=0-9", "bytes=abc", "bytes=9-5", "bytes=-", "bytes=", "bytes=1-2-3",
                                    "bytes 0-9", "bytes=0x10-20", "bytes=18446744073709551616-",
                                    "bytes=--5", "bytes=0-9;x"})
        expect_200(range);
}

TEST_F(Ranges, SeveralRangesMergeOrGetTheWholeFile) {
    expect_206("bytes=0-9,5-20", 0, 20);        // overlapping
    expect_206("bytes=0-9,10-19", 0, 19);       // adjacent
    expect_206("bytes=10-19,0-9,5-7", 0, 19);   // out of order
    expect_206("bytes=0-9, 30000-", 0, 9);      // unsatisfiable members are dropped
    expect_206("bytes=-100,29000-", 29000, logo_size - 1);
    expect_200("bytes=0-9,20-29");              // disjoint: no multipart, the whole file
    expect_200("bytes=0-0,-1");
}

TEST_F(Ranges, TheNumberOfRangesIsCapped) {
    std::string many = "bytes=";
    for (int i = 0; i < 40; ++i) many += (i ? "," : "") + std::to_string(i) + "-" + std::to_string(i);
    expect_200(many);  // would merge into 0-39, but so many ranges are not read at all
}

TEST_F(Ranges, IfRangeUsesStrongComparison) {
    const auto full = get("/logo.jpg");
    const auto etag = full.header("ETag").value_or("");
    const auto lm = full.header("Last-Modified").value_or("");
    auto r = get("/logo.jpg", "Range: bytes=0-9\r\nIf-Range: " + etag + "\r\n");
    EXPECT_EQ(r.status, 206);
    r = get("/logo.jpg", "Range: bytes=0-9\r\nIf-Range: \"stale\"\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), logo_size);
    EXPECT_EQ(get("/logo.jpg", "Range: bytes=0-9\r\nIf-Range: W/" + etag + "\r\n").status, 200);
    EXPECT_EQ(get("/logo.jpg", "Range: bytes=0-9\r\nIf-Range: " + lm + "\r\n").status, 206);
    EXPECT_EQ(get("/logo.jpg", "Range: bytes=0-9\r\nIf-Range: Sun, 13 Sep 2020 12:26:41 GMT\r\n").status, 200);
    EXPECT_EQ(get("/logo.jpg", "Range: bytes=0-9\r\nIf-Range: garbage\r\n").status, 200);
}

TEST_F(Ranges, OnlyGetHonoursRange) {
    const auto r = get("/logo.jpg", "Range: bytes=0-9\r\n", "HEAD");
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.has("Content-Range"));
    EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(logo_size));
}

TEST_F(Ranges, LargeStreamedFileWholeAndInRanges) {
    const auto r = get("/big.bin");
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == tree().big);
    expect_206("bytes=1000000-1000099", 1000000, 1000099, "/big.bin");
    expect_206("bytes=-10", big_size - 10, big_size - 1, "/big.bin");
    expect_206("bytes=65530-200000", 65530, 200000, "/big.bin");
}

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

TEST_F(Conformance, KeepAliveReusesTheConnection) {
    Connection c(port());
    for (int i = 0; i < 5; ++i) {
        const auto r = c.exchange(request("GET", i % 2 ? "/logo.jpg" : "/index.html"));
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header("Connection").value_or(""), "keep-alive");
        EXPECT_EQ(r->header("Keep-Alive").value_or(""), "timeout=5");
    }
}

TEST_F(Conformance, IdleKeepAliveConnectionIsClosedAfterFiveSeconds) {
    Connection c(port());
    ASSERT_TRUE(c.exchange(request("GET", "/")));
    const auto start = conformance::Clock::now();
    EXPECT_TRUE(c.closed_by_server(9s));
    const auto idle = conformance::Clock::now() - start;
    EXPECT_GE(idle, 4s);
    EXPECT_LE(idle, 8s);
}

TEST_F(Conformance, ConnectionCloseIsHonoured) {
    Connection c(port());
    const auto r = c.exchange(request("GET", "/", "Connection: close\r\n"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Connection").value_or(""), "close");
    EXPECT_TRUE(c.closed_by_server(2s));
}

TEST_F(Conformance, Http10ClosesUnlessAskedForKeepAlive) {
    {
        Connection c(port());
        const auto r = c.exchange("GET / HTTP/1.0\r\n\r\n");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->header("Connection").value_or(""), "close");
        EXPECT_TRUE(c.closed_by_server(2s));
    }
    Connection c(port());
    auto r = c.exchange("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Connection").value_or(""), "keep-alive");
    r = c.exchange("GET /notes.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "notes\n");
}

TEST_F(Conformance, PipelinedRequestsAreAnsweredInOrder) {
    Connection c(port());
    ASSERT_TRUE(c.send(request("GET", "/notes.txt") + request("HEAD", "/logo.jpg") + request("GET", "/missing") +
                       request("GET", "/big.bin", "Range: bytes=0-4\r\n") + request("GET", "/sub/file.txt")));
    auto a = c.read_response();
    auto b = c.read_response(true);
    auto d = c.read_response();
    auto e = c.read_response();
    auto f = c.read_response();
    ASSERT_TRUE(a && b && d && e && f);
    EXPECT_EQ(a->body, "notes\n");
    EXPECT_EQ(b->status, 200);
    EXPECT_EQ(b->header("Content-Length").value_or(""), std::to_string(logo_size));
    EXPECT_EQ(d->status, 404);
    EXPECT_EQ(e->status, 206);
    EXPECT_EQ(e->body, tree().big.substr(0, 5));
    EXPECT_EQ(f->body, "sub file\n");
}

TEST_F(Conformance, PipelinedRequestsAfterCloseAreNotAnswered) {
    Connection c(port());
    ASSERT_TRUE(c.send(request("GET", "/notes.txt", "Connection: close\r\n") + request("GET", "/index.html")));
    auto a = c.read_response();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->body, "notes\n");
    EXPECT_TRUE(c.closed_by_server(3s));
}

TEST_F(Conformance, OversizedRequestLineIs414) {
    Connection c(port());
    const auto r = c.exchange(request("GET", "/" + std::string(20000, 'a')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 414);
    EXPECT_TRUE(c.closed_by_server(2s));
    EXPECT_EQ(get("/" + std::string(100 * 1024, 'b')).status, 414);
}

TEST_F(Conformance, OversizedHeaderIs431) {
    std::string extra;
    for (int i = 0; i < 100; ++i) extra += "X-Filler-" + std::to_string(i) + ": " + std::string(300, 'x') + "\r\n";
    Connection c(port());
    const auto r = c.exchange(request("GET", "/", extra));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
    EXPECT_TRUE(c.closed_by_server(2s));
    EXPECT_EQ(get("/", "X-Big: " + std::string(64 * 1024, 'y') + "\r\n").status, 431);
}

// The README: a request head (request line, header fields and the empty line) over 16 KiB,
// 16384 bytes, gets 431; at most that much is served.
TEST_F(Conformance, HeaderLimitIs16KiBIncludingTheRequestLine) {
    const auto head_of_size = [](std::size_t total) {
        const std::string start = request("GET", "/notes.txt", "X-Fill: ");
        const std::string prefix = start.substr(0, start.size() - 2);  // without the final CRLF
        return prefix + std::string(total - prefix.size() - 4, 'x') + "\r\n\r\n";
    };
    ASSERT_EQ(head_of_size(16384).size(), 16384u);
    for (const std::size_t size : {std::size_t{12000}, std::size_t{16384}}) {
        const auto r = raw(head_of_size(size));
        EXPECT_EQ(r.status, 200) << size;
        EXPECT_EQ(r.body, "notes\n") << size;
    }
    for (const std::size_t size : {std::size_t{16385}, std::size_t{20000}, std::size_t{24000}}) {
        Connection c(port());
        const auto r = c.exchange(head_of_size(size));
        ASSERT_TRUE(r) << size;
        EXPECT_EQ(r->status, 431) << size;
        EXPECT_TRUE(c.closed_by_server(2s)) << size;
    }
    // Twenty thousand bytes of fields after a long (but allowed) request line: 431 too.
    EXPECT_EQ(get("/" + std::string(7000, 'a'), "X-Fill: " + std::string(10000, 'x') + "\r\n").status, 431);
}

TEST_F(Conformance, NothingOutsideTheRootWhateverTheConnectionState) {
    // Traversal attempts pipelined after a good request on a kept-alive connection.
    Connection c(port());
    ASSERT_TRUE(c.send(request("GET", "/index.html") + request("GET", "/%2e%2e/secret.txt") +
                       request("GET", "/link_out")));
    for (int i = 0; i < 3; ++i) {
        auto r = c.read_response();
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->body.find(secret), std::string::npos);
    }
}

// ---------------------------------------------------------------------------------------------
// Servers with options (flags of `labtool serve`)
// ---------------------------------------------------------------------------------------------

class WithOptions : public ::testing::Test {
protected:
    void SetUp() override { SKIP_IF_LISTED(); }
    Tree tree_;
};

TEST_F(WithOptions, SlowHeadersAreCutOffByTheHeaderTimeout) {
    Served s(tree_.root, tree_.base.path(), {"--header-timeout", "1"});
    ASSERT_TRUE(s.ready()) << s.err();
    Connection c(s.port());
    const auto start = conformance::Clock::now();
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    // Slowloris: one header byte every 300 ms, never finishing.
    bool closed = false;
    for (int i = 0; i < 20 && !closed; ++i) {
        if (!c.send("X")) break;
        closed = c.closed_by_server(300ms);
        if (!closed && !c.leftover().empty()) break;  // a 408 started arriving
    }
    EXPECT_FALSE(closed) << "closed without a 408";
    const auto r = c.read_response(false, 3s);
    const auto elapsed = conformance::Clock::now() - start;
    ASSERT_TRUE(r) << "no response to the slow header";
    EXPECT_EQ(r->status, 408);
    EXPECT_TRUE(c.closed_by_server(2s)) << "408 and close";
    EXPECT_GE(elapsed, 900ms) << "cut off before the 1 s header timeout";
    EXPECT_LE(elapsed, 4s);
}

TEST_F(WithOptions, ConnectionCapRefusesWith503) {
    Served s(tree_.root, tree_.base.path(), {"--max-connections", "3"});
    ASSERT_TRUE(s.ready()) << s.err();
    std::vector<std::unique_ptr<Connection>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<Connection>(s.port()));
        ASSERT_TRUE(held.back()->exchange(request("GET", "/notes.txt")));  // accepted and counted
    }
    Connection extra(s.port());
    const auto r = extra.exchange(request("GET", "/notes.txt"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    held.clear();  // closing them frees the slots
    std::this_thread::sleep_for(300ms);
    Connection again(s.port());
    const auto ok = again.exchange(request("GET", "/notes.txt"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

TEST_F(WithOptions, SlowClientsBeyondTheCapNeverStopTheServerAnsweringANewOne) {
    // More slowloris clients than --max-connections: a new client is still answered at once
    // (503 while the slots are held), and once the header timeout has cut the slow ones off, it
    // is served again. Nothing waits on a slow client.
    Served s(tree_.root, tree_.base.path(), {"--max-connections", "3", "--header-timeout", "1"});
    ASSERT_TRUE(s.ready()) << s.err();
    std::vector<std::unique_ptr<Connection>> slow;
    for (int i = 0; i < 5; ++i) {
        slow.push_back(std::make_unique<Connection>(s.port()));
        ASSERT_TRUE(slow.back()->send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
    }
    std::this_thread::sleep_for(200ms);
    {
        const auto start = conformance::Clock::now();
        Connection fresh(s.port());
        const auto r = fresh.exchange(request("GET", "/notes.txt"));
        ASSERT_TRUE(r) << "a new client got no answer while slow clients held the slots";
        EXPECT_TRUE(r->status == 503 || r->status == 200) << r->status;
        EXPECT_LE(conformance::Clock::now() - start, 900ms) << "the answer waited for a slow client";
    }
    // The 1 s header timeout ends the slow ones (408, then at most 2 s of lingering for their
    // unread bytes, whether or not they close): within 5 s a new client is served again.
    std::optional<conformance::HttpResponse> ok;
    for (int i = 0; i < 10; ++i) {
        std::this_thread::sleep_for(500ms);
        Connection later(s.port());
        ok = later.exchange(request("GET", "/notes.txt"));
        if (ok && ok->status == 200) break;
    }
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << "still refused 5 s after the slow clients' header timeout";
    EXPECT_EQ(ok->body, "notes\n");
}

TEST_F(WithOptions, SeveralThreadsShareThePortButNoSecondServerDoes) {
    // --threads 3: three listeners on one port (SO_REUSEPORT); every connection is answered.
    Served s(tree_.root, tree_.base.path(), {"--threads", "3"});
    ASSERT_TRUE(s.ready()) << s.err();
    for (int i = 0; i < 30; ++i) {
        Connection c(s.port());
        const auto r = c.exchange(request("GET", "/notes.txt"));
        ASSERT_TRUE(r) << "connection " << i;
        EXPECT_EQ(r->body, "notes\n");
    }
    // A second labtool on the same port must not join the group and take half the connections.
    const auto second = e2e::run_command({binary(), "serve", "--port", std::to_string(s.port()), "--threads", "2",
                                          "--root", tree_.root.string(), "-q"},
                                         tree_.base.path(), std::max<std::chrono::milliseconds>(10s, start_timeout()));
    EXPECT_FALSE(second.timed_out) << "the second server kept running";
    EXPECT_EQ(second.exit_code, 1) << second.err;
    EXPECT_NE(second.err.find("already in use"), std::string::npos) << second.err;
}

// --host warns that the page may be reachable from the network, but only for an address that
// is not loopback (127.0.0.0/8, ::1, "localhost").
TEST_F(WithOptions, HostWarningOnlyForNonLoopbackAddresses) {
    const std::string warning = "reachable from the network";
    for (const std::string host : {"127.0.0.1", "localhost", "LocalHost", "::1", "127.0.0.2"}) {
        Served s(tree_.root, tree_.base.path(), {"--host", host});
        if (!s.ready() && host == "::1") continue;  // no IPv6 on this machine
        ASSERT_TRUE(s.ready()) << host << ": " << s.err();
        EXPECT_EQ(s.err().find(warning), std::string::npos) << host << ": " << s.err();
    }
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: nothing binds, but the warning comes first.
    const auto r = e2e::run_command({binary(), "serve", "--port", std::to_string(e2e::free_port()), "--host",
                                     "192.0.2.1", "--root", tree_.root.string(), "-q"},
                                    tree_.base.path(), std::max<std::chrono::milliseconds>(10s, start_timeout()));
    EXPECT_FALSE(r.timed_out);
    EXPECT_NE(r.err.find(warning), std::string::npos) << r.err;
}

TEST_F(WithOptions, DotfilesAllow) {
    Served s(tree_.root, tree_.base.path(), {"--dotfiles", "allow"});
    ASSERT_TRUE(s.ready()) << s.err();
    Connection c(s.port());
    auto r = c.exchange(request("GET", "/.env"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    // Allowing dotfiles never allows leaving the root.
    r = c.exchange(request("GET", "/.%2e/secret.txt"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
}

TEST_F(WithOptions, ListDirsShowsAnEscapedListingWithoutDotfiles) {
    Served s(tree_.root, tree_.base.path(), {"--list-dirs"});
    ASSERT_TRUE(s.ready()) << s.err();
    Connection c(s.port());
    const auto r = c.exchange(request("GET", "/listing/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("a.txt"), std::string::npos);
    EXPECT_NE(r->body.find("child/"), std::string::npos);
    EXPECT_NE(r->body.find("&lt;b&gt;&amp;.txt"), std::string::npos);
    EXPECT_EQ(r->body.find("<b>"), std::string::npos);
    EXPECT_EQ(r->body.find(".dot"), std::string::npos);
    EXPECT_EQ(r->header("Content-Security-Policy").value_or(""), "default-src 'none'");
    // A directory with index.html still serves it.
    const auto sub = c.exchange(request("GET", "/sub/"));
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->body, "<p>sub</p>\n");
}

TEST_F(WithOptions, CacheSecondsAndCors) {
    Served s(tree_.root, tree_.base.path(), {"--cache", "3600", "--cors"});
    ASSERT_TRUE(s.ready()) << s.err();
    Connection c(s.port());
    const auto r = c.exchange(request("GET", "/logo.jpg"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Cache-Control").value_or(""), "public, max-age=3600");
    EXPECT_EQ(r->header("Access-Control-Allow-Origin").value_or(""), "*");
}

// ---------------------------------------------------------------------------------------------
// Logging and binding
// ---------------------------------------------------------------------------------------------

TEST_F(WithOptions, AccessLogLineMatchesTheClientPortAndQuietSilencesIt) {
    {
        Served s(tree_.root, tree_.base.path(), {}, /*quiet=*/false);
        ASSERT_TRUE(s.ready()) << s.err();
        Connection c(s.port());
        ASSERT_TRUE(c.exchange(request("GET", "/logo.jpg")));
        ASSERT_TRUE(c.exchange(request("GET", "/missing")));
        const std::string client = "127.0.0.1:" + std::to_string(c.local_port());
        std::string log;
        for (int i = 0; i < 50; ++i) {
            log = s.err();
            if (log.find("/missing") != std::string::npos) break;
            std::this_thread::sleep_for(20ms);
        }
        EXPECT_NE(log.find("GET /logo.jpg 200 " + std::to_string(logo_size) + " B client " + client), std::string::npos)
            << log;
        EXPECT_NE(log.find("GET /missing 404 "), std::string::npos) << log;
        EXPECT_NE(log.find(" ms"), std::string::npos) << log;
        s.stop();
    }
    Served q(tree_.root, tree_.base.path(), {}, /*quiet=*/true);
    ASSERT_TRUE(q.ready()) << q.err();
    Connection c(q.port());
    ASSERT_TRUE(c.exchange(request("GET", "/logo.jpg")));
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(q.err().find("GET /logo.jpg"), std::string::npos) << q.err();
}

TEST_F(Conformance, BindsLoopbackOnlyByDefault) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) GTEST_SKIP() << "getifaddrs failed";
    std::string other;
    for (auto* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
        char text[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
        if (std::string(text).rfind("127.", 0) != 0) {
            other = text;
            break;
        }
    }
    ::freeifaddrs(list);
    if (other.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this machine";
    Connection c(port(), other.c_str());
    EXPECT_FALSE(c.connected()) << "reachable on " << other;
    Connection lo(port());
    EXPECT_TRUE(lo.connected());
}

}  // namespace
