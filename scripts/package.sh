#!/usr/bin/env bash
# package.sh: build the Debian package storygate_<version>_amd64.deb (CPack) from a
# Release build with Debian's hardening flags, and check it with lintian.
#
#   scripts/package.sh [BUILD_DIR]          (default build-package; the .deb lands there)
#
# Environment:
#   STORYGATE_DEB_VERSION  package version (default: the project version in CMakeLists.txt);
#                          the install test builds a higher one to upgrade to
#   PACKAGE_LINT=0         skip lintian (the install test builds twice; linting once is enough)
#
# Prints the path of the package on its last line. Exits non-zero when the build fails
# or lintian reports an error (warnings are listed and justified in the README).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-package}
scripts/install-deps.sh

# Debian's compiler and linker flags for packages: _FORTIFY_SOURCE, stack protector,
# full RELRO, PIE. CMake reads CXXFLAGS/LDFLAGS when the build directory is first
# configured, so they are passed explicitly each time.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cxxflags=$(dpkg-buildflags --get CXXFLAGS)
cppflags=$(dpkg-buildflags --get CPPFLAGS)
ldflags=$(dpkg-buildflags --get LDFLAGS)

# ccache, when installed, makes a rebuild with the same flags cheap (the install test).
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSTORYGATE_BUILD_TESTS=OFF \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG $cppflags $cxxflags" \
    -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DSTORYGATE_DEB_VERSION="${STORYGATE_DEB_VERSION:-}" "${launcher[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
rm -f "$build_dir"/storygate_*.deb
(cd "$build_dir" && cpack -G DEB >/dev/null)
deb=$(ls "$build_dir"/storygate_*.deb)

if [[ ${PACKAGE_LINT:-1} != 0 ]]; then
    # --fail-on error: warnings do not fail the build; each one left is explained in the
    # README ("The Debian package").
    lintian --fail-on error --tag-display-limit 0 "$deb" >&2
fi
echo "$deb"
