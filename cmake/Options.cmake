# Build options for labtool.
option(LABTOOL_BUILD_TESTS "Build the GoogleTest suites" ON)
option(LABTOOL_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
option(LABTOOL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(LABTOOL_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)
