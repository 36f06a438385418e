// What every backend shares: UTF-8 <-> std::filesystem::path (wide on Windows, bytes elsewhere).
#include "labtool/platform/files.hpp"

namespace labtool::platform {

std::filesystem::path from_utf8(std::string_view utf8) {
    // char8_t input: std::filesystem converts UTF-8 to the native encoding (UTF-16 on Windows),
    // never through the ANSI code page.
    const std::u8string u8(reinterpret_cast<const char8_t*>(utf8.data()), utf8.size());
    return std::filesystem::path(u8);
}

std::string to_utf8(const std::filesystem::path& path) {
    const std::u8string u8 = path.u8string();
    return std::string(reinterpret_cast<const char*>(u8.data()), u8.size());
}

}  // namespace labtool::platform
