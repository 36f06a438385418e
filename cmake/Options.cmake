# Build options for labtool.
option(LABTOOL_BUILD_TESTS "Build the GoogleTest suites" ON)
option(LABTOOL_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
option(LABTOOL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(LABTOOL_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)

# The OS backend of platform/: linux, posix (macOS, BSD; also builds on Linux) or windows.
if(WIN32)
  set(_default_platform windows)
elseif(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(_default_platform linux)
else()
  set(_default_platform posix)
endif()
set(LABTOOL_PLATFORM ${_default_platform} CACHE STRING "OS backend: linux, posix or windows")
set_property(CACHE LABTOOL_PLATFORM PROPERTY STRINGS linux posix windows)
