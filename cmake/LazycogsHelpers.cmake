# LazycogsHelpers.cmake - small CMake functions used by the top-level build.
# SPDX-License-Identifier: MIT
include(CheckCCompilerFlag)

# lc_add_supported_c_flags(OUT_VAR flag...) appends to OUT_VAR each flag the
# C compiler accepts, so the warning set works on gcc and clang alike.
function(lc_add_supported_c_flags out_var)
  set(result ${${out_var}})
  foreach(flag ${ARGN})
    string(MAKE_C_IDENTIFIER "LC_HAVE_FLAG${flag}" cache_var)
    check_c_compiler_flag("${flag}" ${cache_var})
    if(${cache_var})
      list(APPEND result "${flag}")
    endif()
  endforeach()
  set(${out_var} ${result} PARENT_SCOPE)
endfunction()

# lc_require_pkg(PREFIX module debian_package) finds a system library with
# pkg-config as the imported target PkgConfig::PREFIX, or stops the configure
# step naming the Debian package that provides it.
function(lc_require_pkg prefix module debian_package)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${prefix}_FOUND)
    message(FATAL_ERROR
      "lazycogs needs the system library '${module}' (pkg-config module "
      "not found). Install it with: apt-get install ${debian_package}  "
      "(or run: make setup)")
  endif()
  message(STATUS "Found ${module} ${${prefix}_VERSION}")
endfunction()
