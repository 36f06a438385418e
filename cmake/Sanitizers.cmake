# Optional sanitizers as an INTERFACE target: link labtool_sanitizers.
add_library(labtool_sanitizers INTERFACE)
if(LABTOOL_SANITIZE AND NOT MSVC)
  target_compile_options(labtool_sanitizers INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(labtool_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
