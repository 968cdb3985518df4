#!/usr/bin/env bash
# pg-cluster.sh: manage a throwaway local PostgreSQL cluster (15 unless told otherwise)
# for tests, the demo and benchmarks. The cluster listens on 127.0.0.1 only, on a port
# of its own, with its unix socket in DIR, so it never collides with another cluster on
# the machine. Its data is disposable: fsync and full-page writes are off for speed.
#
#   scripts/pg-cluster.sh start   DIR PORT   initdb DIR/data if needed, start, wait until ready;
#                                            prints postgresql://postgres@127.0.0.1:PORT/postgres
#                                            as the last (only) line of stdout
#   scripts/pg-cluster.sh stop    DIR        stop the cluster whose PID is in DIR/data/postmaster.pid
#   scripts/pg-cluster.sh destroy DIR        stop, then delete DIR
#
# Progress messages go to stderr, so `url=$(scripts/pg-cluster.sh start DIR PORT)` works.
# initdb and postgres refuse to run as root: run this as root (it uses `runuser -u postgres`)
# or as the postgres user. Environment:
#   PG_MAJOR  which PostgreSQL major to run (default 15): 15 is Debian's; the others are
#             the pinned builds in tests/pg-versions (installed by scripts/test.sh)
#   PG_BIN    the server binaries (initdb, pg_ctl, postgres); overrides PG_MAJOR
#   PG_USER   the OS user that owns and runs the cluster (default postgres)
set -euo pipefail

prog=$(basename "$0")
repo=$(cd "$(dirname "$0")/.." && pwd)
# Debian's client tools answer for every server major; the pinned builds have no pg_isready.
debian_bin=/usr/lib/postgresql/15/bin
PG_MAJOR=${PG_MAJOR:-15}
[[ $PG_MAJOR =~ ^[0-9]+$ ]] || { echo "$prog: error: PG_MAJOR must be a major version number such as 10, got '$PG_MAJOR'" >&2; exit 1; }
if [[ $PG_MAJOR == 15 ]]; then
    PG_BIN=${PG_BIN:-$debian_bin}
else
    PG_BIN=${PG_BIN:-$repo/tests/pg-versions/node_modules/pg$PG_MAJOR/native/bin}
fi
PG_USER=${PG_USER:-postgres}
pg_isready=$PG_BIN/pg_isready
[[ -x $pg_isready ]] || pg_isready=$debian_bin/pg_isready

usage() {
    cat >&2 <<EOF
usage: $prog start DIR PORT    create (if needed) and start a throwaway cluster in DIR
       $prog stop DIR          stop the cluster in DIR (fine if it is not running)
       $prog destroy DIR       stop the cluster and delete DIR

DIR must be reachable by the '$PG_USER' user: prefer a path under /tmp,
e.g. /tmp/storygate-pg (a path under /root is not reachable).
PORT: choose one below 32768 that nothing else uses, e.g. 25432.
Prints the connection URL postgresql://postgres@127.0.0.1:PORT/postgres on stdout.
Environment: PG_MAJOR (default 15; others from tests/pg-versions), PG_BIN (the server
binaries, default for 15 /usr/lib/postgresql/15/bin), PG_USER (default postgres).
EOF
    exit "${1:-2}"
}

say() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }

# Runs a command as the cluster's OS user, from / (the caller's directory may be closed to it).
as_pg() {
    if [[ $(id -un) == "$PG_USER" ]]; then
        (cd / && "$@")
    else
        (cd / && runuser -u "$PG_USER" -- "$@")
    fi
}

check_identity() {
    local me
    me=$(id -un)
    if [[ $me != "$PG_USER" && $(id -u) -ne 0 ]]; then
        die "run this as root or as the '$PG_USER' user (you are '$me')"
    fi
    id -u "$PG_USER" >/dev/null 2>&1 || die "OS user '$PG_USER' does not exist (is postgresql-15 installed? run scripts/install-deps.sh)"
}

check_binaries() {
    local b hint="install postgresql-15 (scripts/install-deps.sh) or set PG_BIN"
    if [[ $PG_BIN != "$debian_bin" ]]; then
        hint="install the pinned majors (scripts/test.sh does: npm ci in tests/pg-versions) or set PG_BIN"
    fi
    for b in initdb pg_ctl postgres; do
        [[ -x $PG_BIN/$b ]] || die "$PG_BIN/$b not found: $hint"
    done
    [[ -x $pg_isready ]] || die "$pg_isready not found: install postgresql-15 (scripts/install-deps.sh)"
    # The cluster runs as $PG_USER, who must reach the binaries (not so below /root, mode 700).
    as_pg test -x "$PG_BIN/postgres" ||
        die "the '$PG_USER' user cannot run $PG_BIN/postgres: put the checkout (or PG_BIN) where it can reach"
}

# Makes DIR absolute and rejects paths that cannot be passed safely to postgres options.
normalize_dir() {
    local d=$1
    [[ -n $d ]] || usage
    [[ $d == /* ]] || d="$PWD/$d"
    d=$(realpath -m -- "$d")
    [[ $d != / ]] || die "refusing to use / as the cluster directory"
    if [[ $d =~ [[:space:]\'\"\\\$\`] ]]; then
        die "cluster directory must not contain spaces, quotes, backslashes, \$ or backquotes: '$d'"
    fi
    printf '%s\n' "$d"
}

# PID of the postmaster running on DIR/data, or nothing.
running_pid() {
    local pidfile=$1/data/postmaster.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    # A stale pid file may name a PID that now belongs to something else.
    [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) == postgres ]] || return 0
    printf '%s\n' "$pid"
}

# Fails with a clear message when the postgres user cannot reach DIR (e.g. below /root, mode 700).
check_reachable() {
    local dir=$1 probe=$1 p
    while [[ ! -e $probe ]]; do probe=$(dirname "$probe"); done
    if ! as_pg test -x "$probe" 2>/dev/null; then
        p=/
        local part
        local -a parts
        IFS=/ read -r -a parts <<<"${probe#/}"
        for part in "${parts[@]}"; do
            p=${p%/}/$part
            if ! as_pg test -x "$p" 2>/dev/null; then
                die "the '$PG_USER' user cannot enter $p ($(stat -c '%A %U:%G' "$p")), so it cannot reach $dir.
Use a directory under /tmp instead, e.g. /tmp/storygate-pg (or make $p traversable: chmod o+x $p)."
            fi
        done
        die "the '$PG_USER' user cannot reach $dir; use a directory under /tmp instead, e.g. /tmp/storygate-pg"
    fi
}

cmd_start() {
    local dir port
    dir=$(normalize_dir "$1")
    port=$2
    if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
        die "PORT must be a number in 1..65535, got '$port'"
    fi
    port=$((10#$port))
    check_identity
    check_binaries

    # A unix socket path is limited to 107 bytes.
    local sock="$dir/.s.PGSQL.$port"
    ((${#sock} <= 107)) || die "socket path $sock is longer than 107 bytes: use a shorter DIR (e.g. under /tmp)"

    local pid
    pid=$(running_pid "$dir")
    if [[ -n $pid ]]; then
        local running_port
        running_port=$(sed -n 4p "$dir/data/postmaster.pid")
        if [[ $running_port != "$port" ]]; then
            die "a cluster is already running on $dir (PID $pid) but on port $running_port, not $port: stop it first ($prog stop $dir)"
        fi
        say "already running on $dir (PID $pid, port $port)"
        echo "postgresql://postgres@127.0.0.1:$port/postgres"
        return 0
    fi

    # Something else answering on the port would make pg_isready succeed for the wrong server.
    local rc=0
    "$pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 || rc=$?
    if ((rc == 0 || rc == 1)); then
        die "another PostgreSQL server already listens on 127.0.0.1:$port: choose another PORT"
    fi

    check_reachable "$dir"
    if [[ ! -d $dir ]]; then
        mkdir -p -- "$dir"
        chmod 755 "$dir"
    fi
    if [[ $(id -u) -eq 0 ]]; then
        chown "$PG_USER:" "$dir"
    fi
    as_pg test -w "$dir" || die "the '$PG_USER' user cannot write to $dir"

    if [[ ! -f $dir/data/PG_VERSION ]]; then
        if [[ -e $dir/data ]] && [[ -n $(ls -A "$dir/data" 2>/dev/null) ]]; then
            die "$dir/data exists but holds no cluster (no PG_VERSION): remove it or choose another DIR"
        fi
        local locale=C
        if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
            locale=C.UTF-8
        fi
        say "initdb $dir/data (locale $locale)"
        if ! as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
            --encoding=UTF8 --locale="$locale" --no-sync >"$dir/initdb.log" 2>&1; then
            tail -n 30 "$dir/initdb.log" >&2 || true
            die "initdb failed (full log: $dir/initdb.log)"
        fi
    fi

    say "starting postgres on 127.0.0.1:$port (data $dir/data, log $dir/postgres.log)"
    # pg_ctl hands -o to a shell; normalize_dir has rejected characters that would need quoting.
    local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -W -o "$opts" >/dev/null; then
        tail -n 30 "$dir/postgres.log" >&2 || true
        die "pg_ctl start failed"
    fi

    # Ready when our postmaster says so in its pid file (line 8) and answers on the port.
    local deadline=$((SECONDS + 30)) gone_since=$SECONDS
    until [[ -n $(running_pid "$dir") && $(sed -n 8p "$dir/data/postmaster.pid" 2>/dev/null) == ready* ]] &&
        "$pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; do
        [[ -n $(running_pid "$dir") ]] && gone_since=$SECONDS
        if ((SECONDS >= deadline || SECONDS - gone_since > 3)); then
            echo "--- tail of $dir/postgres.log ---" >&2
            tail -n 30 "$dir/postgres.log" >&2 || true
            if [[ -z $(running_pid "$dir") ]]; then
                die "postgres exited during startup (see the log above)"
            fi
            die "postgres did not become ready on 127.0.0.1:$port within 30 s"
        fi
        sleep 0.2
    done
    say "ready (PID $(running_pid "$dir"))"
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
}

cmd_stop() {
    local dir pid
    dir=$(normalize_dir "$1")
    pid=$(running_pid "$dir")
    if [[ -z $pid ]]; then
        say "not running on $dir"
        return 0
    fi
    check_identity
    if as_pg "$PG_BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t 30 >/dev/null 2>&1; then
        say "stopped (PID $pid)"
        return 0
    fi
    # pg_ctl failed (e.g. the data dir is no longer readable): signal the postmaster directly.
    # SIGINT is PostgreSQL's fast shutdown; SIGQUIT immediate; SIGKILL as a last resort.
    say "pg_ctl stop failed; signalling PID $pid"
    local sig tries
    for sig in INT QUIT KILL; do
        kill -s "$sig" "$pid" 2>/dev/null || true
        for ((tries = 0; tries < 50; tries++)); do
            kill -0 "$pid" 2>/dev/null || { say "stopped (PID $pid, SIG$sig)"; return 0; }
            sleep 0.2
        done
    done
    die "could not stop PID $pid"
}

cmd_destroy() {
    local dir
    dir=$(normalize_dir "$1")
    cmd_stop "$dir"
    [[ -e $dir ]] || { say "$dir does not exist"; return 0; }
    # Only delete what looks like one of our cluster directories (or an empty one).
    if [[ -f $dir/data/PG_VERSION || -f $dir/postgres.log || -f $dir/initdb.log || -z $(ls -A "$dir") ]]; then
        rm -rf -- "$dir"
        say "removed $dir"
    else
        die "$dir does not look like a cluster directory made by $prog; not deleting it"
    fi
}

(($# >= 1)) || usage
case $1 in
start) (($# == 3)) || usage; cmd_start "$2" "$3" ;;
stop) (($# == 2)) || usage; cmd_stop "$2" ;;
destroy) (($# == 2)) || usage; cmd_destroy "$2" ;;
-h | --help | help) usage 0 ;;
*) usage ;;
esac
