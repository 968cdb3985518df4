#!/usr/bin/env bash
# package-install.sh: the Debian package, installed as an operator would, in a fresh
# Debian root (mmdebstrap) whose packages come from the archive this machine's apt uses.
# Part of a full scripts/test.sh run only (it takes minutes); by hand, with the test
# PostgreSQL running:
#
#   STORYGATE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:PORT/postgres \
#       tests/deploy/package-install.sh
#
# Steps, each a line "package-install: ok: ..." or a "FAIL" that ends the run (exit 1):
#   build version N with scripts/package.sh (lintian: no errors) and N+1 (same binary,
#   higher version); bootstrap a minimal root with systemd (an operator's host has it);
#   apt-get install ./N there, dependencies from the archive alone; storygate --version;
#   the unit installed but not enabled, nothing running; conffiles and their modes;
#   systemd-analyze verify on the installed unit; storygate check and storygate serve
#   from inside the root against a database of the test PostgreSQL (chroot shares the
#   network namespace: loopback works), answering a real request; edit
#   /etc/storygate/mapping.yaml, upgrade to N+1, the edit kept; remove (conffiles stay),
#   purge (all gone).
# Needs root (chroot), mmdebstrap, curl, psql, and the archive over the network.
set -euo pipefail

prog=package-install
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
admin_url=${STORYGATE_TEST_DATABASE_URL:?set STORYGATE_TEST_DATABASE_URL (scripts/test.sh does)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
started=$SECONDS

ok() { echo "$prog: ok: $* ($((SECONDS - started)) s)"; }
fail() {
    echo "$prog: FAIL: $*" >&2
    exit 1
}

work=$(mktemp -d /tmp/storygate-package-test.XXXXXX)
root=$work/root
database=storygate_package_$$
server_pid=""
bootstrap_pid=""
cleanup() {
    if [[ -n $bootstrap_pid ]]; then kill -TERM "$bootstrap_pid" 2>/dev/null || true; wait "$bootstrap_pid" 2>/dev/null || true; fi
    if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    "$PG_BIN/psql" -q -X "$admin_url" -c "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
installed_version() { in_root dpkg-query -W -f '${db:Status-Abbrev} ${Version}' storygate 2>/dev/null || true; }

# --- a fresh Debian root, from the archive this machine's apt uses (bootstrapped while the
# packages build) ------------------------------------------------------------------------------
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' |
    awk -v c="$codename" '$2 == c { print $1; exit }')
[[ -n $mirror ]] || fail "no '$codename' archive in this machine's apt sources"
mmdebstrap --quiet --variant=apt --include=systemd --skip=cleanup/apt/lists "$codename" "$root" "$mirror" \
    >"$work/mmdebstrap.log" 2>&1 &
bootstrap_pid=$!

# --- the packages: N, and N+1 to upgrade to ------------------------------------------------
version=$(sed -n 's/^project(storygate VERSION \([0-9.]*\) .*/\1/p' CMakeLists.txt)
[[ -n $version ]] || fail "no project version in CMakeLists.txt"
# N+1 first, so that the build directory is left with version N. Only the version
# differs: the binary is built once.
deb_next=$(STORYGATE_DEB_VERSION="$version+1" PACKAGE_LINT=0 scripts/package.sh | tail -n 1)
mv "$deb_next" "$work/"
deb_n=$(scripts/package.sh | tail -n 1)
cp "$deb_n" "$work/"
deb_n=$(basename "$deb_n")
deb_next=$(basename "$deb_next")
ok "built $deb_n ($(du -k "$work/$deb_n" | cut -f1) KiB, lintian: no errors) and $deb_next"

wait "$bootstrap_pid" || fail "mmdebstrap $codename from $mirror failed:"$'\n'"$(tail -n 20 "$work/mmdebstrap.log")"
bootstrap_pid=""
cp /etc/resolv.conf "$root/etc/resolv.conf"
ok "bootstrapped Debian $codename with systemd from $mirror"

# --- install N -------------------------------------------------------------------------------
cp "$work/$deb_n" "$work/$deb_next" "$root/tmp/"
in_root apt-get install -y -qq "/tmp/$deb_n" >"$work/install.log" 2>&1 ||
    fail "apt-get install ./$deb_n:"$'\n'"$(tail -n 20 "$work/install.log")"
[[ $(installed_version) == "ii  $version" ]] || fail "installed: '$(installed_version)', expected ii $version"
out=$(in_root storygate --version) || fail "storygate --version failed in the root"
[[ $out == "storygate $version" ]] || fail "storygate --version says '$out', expected 'storygate $version'"
ok "apt-get install ./$deb_n: dependencies from the archive; $out"

# Installed, not enabled, not running.
unit=$root/lib/systemd/system/storygate.service
[[ -f $unit ]] || fail "no /lib/systemd/system/storygate.service"
enabled=$(find "$root/etc/systemd/system" -name 'storygate.service' 2>/dev/null)
[[ -z $enabled ]] || fail "the package enabled the unit: $enabled"
for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$root" ]] && fail "a process runs in the root after install: $(tr '\0' ' ' <"$p/cmdline")"
done
[[ -s $root/usr/share/man/man1/storygate.1.gz ]] || fail "no man page storygate(1)"
# The usage lines of --help belong to the SYNOPSIS alone: help2man puts any it does
# not recognise as usage into the DESCRIPTION, a second time.
usage_lines=$(zcat "$root/usr/share/man/man1/storygate.1.gz" | grep -c 'SCHEMA.TABLE' || true)
[[ $usage_lines == 1 ]] || fail "the man page has the usage of init $usage_lines times, expected once (SYNOPSIS)"
conffiles=$(in_root dpkg-query -W -f '${Conffiles}' storygate)
for f in /etc/storygate/mapping.yaml /etc/storygate/storygate.env; do
    grep -q "^ $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
[[ $(stat -c '%a %U' "$root/etc/storygate/storygate.env") == "600 root" ]] ||
    fail "storygate.env is $(stat -c '%a %U' "$root/etc/storygate/storygate.env"), expected 600 root"
[[ $(stat -c '%a' "$root/etc/storygate/mapping.yaml") == 644 ]] ||
    fail "mapping.yaml must be readable by the service's dynamic user"
ok "unit installed, not enabled, nothing started; man page; conffiles 0600 (env) and 0644 (mapping)"

out=$(in_root systemd-analyze verify --man=no /lib/systemd/system/storygate.service 2>&1) ||
    fail "systemd-analyze verify in the root:"$'\n'"$out"
[[ -z $out ]] || fail "systemd-analyze verify in the root warns:"$'\n'"$out"
ok "systemd-analyze verify /lib/systemd/system/storygate.service: no warnings"

# --- check and serve from inside the root, against the test PostgreSQL ---------------------
"$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 "$admin_url" -c "CREATE DATABASE $database" >/dev/null
db_admin_url=$(sed "s|/[^/?]*\(?.*\)\?$|/$database\1|" <<<"$admin_url")
"$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -v customers=200 -f scripts/demo-database.sql "$db_admin_url" >/dev/null
reader_url=$(sed "s|://[^@/]*@|://storygate_reader@|" <<<"$db_admin_url")
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

out=$(in_root STORYGATE_DATABASE_URL="$reader_url" storygate check --mapping /etc/storygate/mapping.yaml 2>&1) ||
    fail "storygate check in the root:"$'\n'"$out"
ok "storygate check --mapping /etc/storygate/mapping.yaml (the example) in the root"

# chroot and env exec the next program: $! is storygate itself, so it gets the SIGTERM.
chroot "$root" env -i PATH=/usr/bin:/bin STORYGATE_DATABASE_URL="$reader_url" STORYGATE_BEARER_TOKENS="$token" \
    storygate serve --mapping /etc/storygate/mapping.yaml --port 0 >"$work/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$work/serve.log" | head -n 1)
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
[[ -n $port ]] || fail "storygate serve in the root did not start:"$'\n'"$(cat "$work/serve.log")"
body=$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/customer/244988") ||
    fail "GET /api/v1/customer/244988 from the server in the root failed"
grep -q '"first_name":"Amanda"' <<<"$body" || fail "unexpected record: $body"
kill -TERM "$server_pid"
wait "$server_pid" || fail "storygate serve exited with status $? on SIGTERM"
server_pid=""
ok "storygate serve in the root answered GET /api/v1/customer/244988 (Amanda Grover), exited 0 on SIGTERM"

# --- upgrade to N+1: the operator's edit is kept ---------------------------------------------
marker="# edited by the operator, $(date -u +%FT%TZ)"
echo "$marker" >>"$root/etc/storygate/mapping.yaml"
in_root apt-get install -y -qq "/tmp/$deb_next" >"$work/upgrade.log" 2>&1 ||
    fail "upgrade to $deb_next:"$'\n'"$(tail -n 20 "$work/upgrade.log")"
[[ $(installed_version) == "ii  $version+1" ]] || fail "after upgrade: '$(installed_version)'"
grep -qxF "$marker" "$root/etc/storygate/mapping.yaml" || fail "the upgrade lost the edit of mapping.yaml"
leftovers=$(find "$root/etc/storygate" -name '*.dpkg-*')
[[ -z $leftovers ]] || fail "the upgrade left $leftovers"
[[ $(stat -c '%a' "$root/etc/storygate/storygate.env") == 600 ]] || fail "the upgrade changed storygate.env's mode"
ok "upgrade $version -> $version+1 kept the edit of /etc/storygate/mapping.yaml"

# --- remove, then purge ----------------------------------------------------------------------
in_root apt-get remove -y -qq storygate >"$work/remove.log" 2>&1 || fail "apt-get remove:"$'\n'"$(cat "$work/remove.log")"
[[ ! -e $root/usr/bin/storygate && ! -e $unit ]] || fail "remove left the binary or the unit"
[[ $(installed_version) == rc* ]] || fail "after remove: '$(installed_version)', expected rc (config files)"
grep -qxF "$marker" "$root/etc/storygate/mapping.yaml" || fail "remove deleted the operator's mapping"
in_root apt-get purge -y -qq storygate >"$work/purge.log" 2>&1 || fail "apt-get purge:"$'\n'"$(cat "$work/purge.log")"
[[ -z $(installed_version) ]] || fail "after purge: '$(installed_version)'"
[[ ! -e $root/etc/storygate ]] || fail "purge left /etc/storygate: $(ls -A "$root/etc/storygate")"
left=$(find "$root/etc/systemd" "$root/var/lib/systemd" -name '*storygate*' 2>/dev/null)
[[ -z $left ]] || fail "purge left systemd state: $left"
ok "remove kept /etc/storygate; purge removed it and systemd's state"

echo "$prog: all package checks passed in $((SECONDS - started)) s"
