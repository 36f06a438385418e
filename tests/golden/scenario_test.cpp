// Scenario golden tests: hand-built loopback captures (scenarios.hpp: Linux lo, Windows Npcap,
// macOS lo0; closes of every shape, a reset, an unused preconnect) replayed by the real labtool
// binary, compared with tests/golden/scenario_<name>.<lang>.<variant>.txt. With
// LABTOOL_UPDATE_GOLDEN=1 the expected files are rewritten instead (review the diff, then commit).
#include "golden_util.hpp"
#include "scenarios.hpp"

#include <string>
#include <unistd.h>

namespace labtool::test::scenarios {
// Test names and ctest names show the scenario's name, not its bytes.
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }
}  // namespace labtool::test::scenarios

namespace {

using namespace labtool::golden;
namespace sc = labtool::test::scenarios;
const fs::path golden_dir = LABTOOL_GOLDEN_DIR;

struct Variant {
    const char* lang;
    const char* name;    // part of the expected file's name
    const char* flags;
};
constexpr Variant variants[] = {
    {"en", "default", ""},
    {"en", "ladder", "--ladder"},
    {"zh", "default", ""},
    {"zh", "ladder", "--ladder"},
    {"en", "json", "--format json --packets"},
};

class ScenarioGolden : public ::testing::TestWithParam<sc::Scenario> {
protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("labtool_scenarios_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    static fs::path dir_;
};
fs::path ScenarioGolden::dir_;

TEST_P(ScenarioGolden, Replay) {
    const sc::Scenario& s = GetParam();
    const fs::path pcap = dir_ / (std::string(s.name) + ".pcap");
    sc::write_pcap(pcap, s.make());
    for (const auto& v : variants) {
        SCOPED_TRACE(std::string(v.lang) + " " + v.name);
        const fs::path expected =
            golden_dir / ("scenario_" + std::string(s.name) + "." + v.lang + "." + v.name + ".txt");
        check_output(replay_command(pcap, v.lang, v.flags), expected, "ScenarioGolden");
    }
}

std::string scenario_name(const ::testing::TestParamInfo<sc::Scenario>& p) { return p.param.name; }

INSTANTIATE_TEST_SUITE_P(Captures, ScenarioGolden, ::testing::ValuesIn(sc::all()), scenario_name);

}  // namespace
