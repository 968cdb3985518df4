#!/usr/bin/env bash
# install-deps.sh: install the Debian 12 packages storygate needs to build, test and run
# the demo. Idempotent: it asks apt only when a package is missing, and prints one line
# when everything is already there.
#
#   scripts/install-deps.sh [EXTRA_PACKAGE...]
#
# Scripts that need more (clang for the sanitizer and fuzzing builds, wrk for the
# benchmark) name it as arguments, so there is one place that talks to apt.
set -euo pipefail

packages=(
    build-essential cmake pkg-config       # compiler and build
    libboost1.81-dev                       # Boost.Beast / Boost.Asio (header-only)
    libboost-url1.81-dev                   # Boost.URL: query strings
    libboost-program-options1.81-dev       # command line
    libpqxx-dev                            # PostgreSQL client (libpqxx 6.4)
    rapidjson-dev                          # JSON writer
    libyaml-cpp-dev                        # the mapping file
    prometheus-cpp-dev                     # /metrics in Prometheus' text format
    libhowardhinnant-date-dev              # time zones for text date-times in mappings
    libgtest-dev googletest                # tests
    python3 python3-yaml systemd           # tests/deploy/check-deploy.sh
    openssl                                # test certificates for TLS
    libssl-dev                             # TLS
    zlib1g-dev                             # gzip
    postgresql-15 postgresql-client-15     # real server for tests and the demo
    pgbouncer                              # tests of --pgbouncer
    nginx-light haproxy                    # tests behind real proxies (X-Forwarded-For, PROXY protocol) and a round-robin balancer before replicas
    sslscan                                # the test that checks the TLS profile against the running server
    libhiredis-dev                         # Redis client: the shared cursor store (--cursor-store)
    redis-server                           # tests: a real shared cursor store
    tzdata                                 # time zones (America/Chicago ...)
    curl ca-certificates                   # demo and integration checks
    help2man lintian                       # the Debian package: man page from --help, its check
    mmdebstrap prometheus                  # package install test (a Debian 12 root); promtool for the alert rules
)

# tests/openapi: the OpenAPI validator runs on Node.js 18 or newer (Debian 12 has 18), installed
# with npm. A Node.js already there with its own npm is kept: Debian's npm conflicts with it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root: sudo $0   (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: installed ${#missing[@]} package(s)"
