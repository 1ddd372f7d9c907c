# Warnings are errors in our own code; generated protobuf code is compiled without them.
function(dorset_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-unused-parameter)
endfunction()

# Every library and binary of ours sees the repository root as its include root, so
# includes read "runtime/sqlite/database.h", "services/registry/...".
function(dorset_cc_defaults target)
  dorset_target_warnings(${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
