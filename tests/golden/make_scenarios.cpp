// labtool_make_scenarios <dir>: writes every scenario capture of scenarios.hpp as <dir>/<name>.pcap,
// to replay by hand (`labtool replay <dir>/macos_lo0.pcap --ladder`) or to open in Wireshark.
#include "scenarios.hpp"

#include <exception>
#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: labtool_make_scenarios <dir>\n";
        return 2;
    }
    try {
        const std::filesystem::path dir = argv[1];
        std::filesystem::create_directories(dir);
        for (const auto& s : labtool::test::scenarios::all()) {
            const auto capture = s.make();
            const auto path = dir / (std::string(s.name) + ".pcap");
            labtool::test::scenarios::write_pcap(path, capture);
            std::cout << path.string() << "  " << capture.frames.size() << " frames\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "labtool_make_scenarios: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
