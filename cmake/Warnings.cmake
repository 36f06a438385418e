# Project warnings as an INTERFACE target: link labtool_warnings to get them.
add_library(labtool_warnings INTERFACE)
if(MSVC)
  target_compile_options(labtool_warnings INTERFACE /W4 /permissive-)
  if(LABTOOL_WARNINGS_AS_ERRORS)
    target_compile_options(labtool_warnings INTERFACE /WX)
  endif()
else()
  target_compile_options(labtool_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough)
  if(LABTOOL_WARNINGS_AS_ERRORS)
    target_compile_options(labtool_warnings INTERFACE -Werror)
  endif()
endif()
