# Writes OUT (version.h) from IN with the current git sha, on every build, touching OUT only when it changes, so
# /buildinfo and `colony version` never report a stale commit. Run as: cmake -DIN=… -DOUT=… -DVERSION=… -P
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY "${SRC}"
                OUTPUT_VARIABLE COLONY_GIT_SHA OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT COLONY_GIT_SHA)
  set(COLONY_GIT_SHA "unknown")
endif()
set(PROJECT_VERSION "${VERSION}")
configure_file("${IN}" "${OUT}.tmp" @ONLY)
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
