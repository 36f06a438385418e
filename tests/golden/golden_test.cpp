// Golden tests: `labtool replay` of committed captures must print exactly the expected text, in
// English and Chinese, at every level of detail. With LABTOOL_UPDATE_GOLDEN=1 the expected files
// are rewritten instead (review the diff, then commit).
#include "golden_util.hpp"

#include <string>

namespace {

using namespace labtool::golden;
const fs::path golden_dir = LABTOOL_GOLDEN_DIR;

struct Variant {
    const char* name;
    const char* flags;
};
constexpr Variant variants[] = {
    {"brief", "-q"}, {"default", ""}, {"verbose", "-v"}, {"hex", "-x"}, {"ladder", "--ladder"}, {"packets", "--packets"},
};

void check(const std::string& capture, const std::string& lang, const Variant& v, const std::string& format = "text") {
    const fs::path expected = golden_dir / (capture + "." + lang + "." + (format == "json" ? std::string("json") : v.name) + ".txt");
    std::string command = replay_command(golden_dir / (capture + ".pcap"), lang, v.flags);
    if (format == "json") command += " --format json";
    check_output(command, expected, "Golden");
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
