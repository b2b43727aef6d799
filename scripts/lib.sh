# Shared shell helpers for the project's scripts (sourced, not executed).
# Everything lives under $KOSCHEI_STATE (default: <repo>/.state); nothing is
# installed as a system service.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KOSCHEI_STATE=${KOSCHEI_STATE:-$REPO_ROOT/.state}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-5544}
AMQP_PORT=${AMQP_PORT:-5673}
EPMD_PORT=${EPMD_PORT:-4370}
# One node name per broker port, so that several private brokers can run.
if [ "$AMQP_PORT" = 5673 ]; then RMQ_NODE=koschei@localhost; else RMQ_NODE=koschei$AMQP_PORT@localhost; fi
VENV=$KOSCHEI_STATE/venv

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Debian packages the project needs to build, test and run.
APT_PACKAGES=(
    build-essential pkg-config libclang-dev libsolv-dev zlib1g-dev libzstd-dev
    liblzma-dev libbz2-dev postgresql rabbitmq-server python3-venv chromium
    curl procps openssl
    # hawkey (libdnf) for scripts/compare-hawkey: the original's resolver, to compare with.
    python3-hawkey
    # Debian's installability checker, the peer of scripts/bench-installability; time(1)
    # for its memory figure.
    dose-distcheck time
    # DejaVu Sans, embedded in koschei-web to draw the text of PNG badges.
    fonts-dejavu-core
    # Kerberos: the GSSAPI library to build against, and a private KDC for the tests.
    libkrb5-dev krb5-user krb5-kdc krb5-admin-server
)

# Installs missing Debian packages (root only; skipped when all are present).
ensure_apt_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Python test clients (the real koji client, fedora-messaging and schemas) in a venv.
# Our own message schemas (services/watcher/messages) are installed with them; the
# stamp covers the requirements and every file of that package.
python_venv_stamp() {
    cat "$REPO_ROOT/tests/python/requirements.txt"
    (cd "$REPO_ROOT/services/watcher/messages" &&
        find . -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' ! -path './build/*' |
        LC_ALL=C sort | xargs sha256sum)
}

ensure_python_venv() {
    local stamp=$VENV/.koschei-requirements
    if [ -f "$stamp" ] && cmp -s "$stamp" <(python_venv_stamp); then
        return 0
    fi
    log "creating Python venv with test clients in $VENV"
    python3 -m venv "$VENV" 2>/dev/null || /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q --no-deps koji
    # koji is installed before its dependencies (requests-gssapi comes with the
    # requirements), so pip's resolver warns about them once.
    "$VENV/bin/pip" install -q -r "$REPO_ROOT/tests/python/requirements.txt" 2>&1 |
        grep -v -e "requests-gssapi" -e "dependency resolver does not currently" >&2 || true
    # built from a copy: setuptools writes build/ and *.egg-info next to the sources
    local copy
    copy=$(mktemp -d)
    cp -r "$REPO_ROOT/services/watcher/messages" "$copy/"
    "$VENV/bin/pip" install -q "$copy/messages"
    rm -rf "$copy"
    python_venv_stamp > "$stamp"
}

# Starts (initialising if needed) a private PostgreSQL cluster; sets DATABASE_URL base.
pg_start() {
    local dir=$KOSCHEI_STATE/pg
    mkdir -p "$dir/data" "$dir/sock"
    chmod 755 "$KOSCHEI_STATE"
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$dir"
        as=(su postgres -s /bin/sh -c)
    else
        as=(sh -c)
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        log "initialising PostgreSQL cluster in $dir/data"
        "${as[@]}" "$PG_BIN/initdb -D '$dir/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8" >/dev/null
    fi
    # Fast and unsafe for a crash unless PG_DURABLE=1 (the crash test kills the server).
    local durability="-c fsync=off -c synchronous_commit=off"
    [ "${PG_DURABLE:-0}" = 1 ] && durability=""
    if ! "${as[@]}" "$PG_BIN/pg_ctl -D '$dir/data' status" >/dev/null 2>&1; then
        "${as[@]}" "$PG_BIN/pg_ctl -D '$dir/data' -l '$dir/server.log' -w -o \"-k '$dir/sock' -p $PG_PORT -c listen_addresses='' -c max_connections=300 $durability\" start" >/dev/null
    fi
    export PG_SOCKET_DIR=$dir/sock
    export PG_URL_BASE="postgres://postgres@localhost:$PG_PORT"
    export PG_URL_QUERY="host=$dir/sock"
}

# Stops the cluster and waits for it; in a session of its own, so that a Ctrl-C
# typed in the terminal meanwhile cannot interrupt the stopping.
pg_stop() {
    local dir=$KOSCHEI_STATE/pg
    [ -f "$dir/data/postmaster.pid" ] || return 0
    if [ "$(id -u)" -eq 0 ]; then
        setsid -w su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$dir/data' -m fast -w stop" >/dev/null 2>&1 || true
    else
        setsid -w "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

# Creates database $1 if missing and prints its URL.
pg_database_url() {
    local db=$1
    psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" postgres | grep -q 1 ||
        psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -qc "CREATE DATABASE \"$db\"" postgres
    echo "$PG_URL_BASE/$db?$PG_URL_QUERY"
}

# Runs a command with the private broker's environment.
rmq_env() {
    local dir=$KOSCHEI_STATE/rmq
    env HOME="$dir/home" RABBITMQ_NODENAME=$RMQ_NODE RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT=$AMQP_PORT RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000)) ERL_EPMD_PORT=$EPMD_PORT \
        ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq" "$@"
}

# Starts a private RabbitMQ broker; sets AMQP_URL.
rmq_start() {
    local dir=$KOSCHEI_STATE/rmq
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    echo '[].' > "$dir/enabled_plugins"
    echo 'loopback_users = none' > "$dir/rabbitmq.conf"
    if ! rmq_env /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RMQ_NODE" status >/dev/null 2>&1; then
        log "starting RabbitMQ on port $AMQP_PORT"
        rmq_env setsid /usr/lib/rabbitmq/bin/rabbitmq-server > "$dir/stdout.log" 2>&1 &
        # await_startup gives up at once while the node is not registered yet.
        local tries=0
        until rmq_env /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RMQ_NODE" -t 60 await_startup >/dev/null 2>&1; do
            tries=$((tries + 1))
            if [ $tries -ge 120 ]; then
                echo "RabbitMQ did not start; see $dir/stdout.log" >&2
                return 1
            fi
            sleep 0.5
        done
    fi
    export AMQP_URL="amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f"
}

# The pid of the broker's Erlang VM when it runs from this state directory (its
# pid file may be stale).
rmq_vm_pid() {
    local pid
    pid=$(cat "$KOSCHEI_STATE/rmq/mnesia/$RMQ_NODE.pid" 2>/dev/null) || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-home $KOSCHEI_STATE/rmq/home" || return 1
    echo "$pid"
}

# Stops the broker, then epmd: the broker's Erlang VM started it and it outlives
# the VM. `shutdown` returns once the VM has exited, so that epmd has no node
# left and accepts `-kill`. Both run in a session of their own, so that a Ctrl-C
# typed in the terminal meanwhile cannot interrupt them.
rmq_stop() {
    local dir=$KOSCHEI_STATE/rmq pid
    [ -d "$dir" ] || return 0
    if ! rmq_env setsid -w /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RMQ_NODE" shutdown >/dev/null 2>&1; then
        # Not answering (still booting, or hung): end its VM.
        pid=$(rmq_vm_pid) && kill -KILL "$pid" 2>/dev/null || true
    fi
    ERL_EPMD_PORT=$EPMD_PORT setsid -w epmd -kill >/dev/null 2>&1 || true
}

# cargo-nextest is the test runner; install it when the toolchain lacks it.
ensure_rust_tools() {
    command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; return 1; }
    cargo nextest --version >/dev/null 2>&1 || { log "installing cargo-nextest"; cargo install --locked cargo-nextest; }
}

# The private Kerberos KDC of the tests.
source "$REPO_ROOT/scripts/kdc.sh"
