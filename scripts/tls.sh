# TLS helpers for tests (sourced, not executed): a throwaway CA, certificates
# signed by it, and a private RabbitMQ with a TLS listener that requires a
# client certificate and accepts SASL EXTERNAL (the user name is the
# certificate's CN), as Fedora's broker does. Nothing here is meant for
# production keys: keys are unencrypted and valid for two days.
#
#   source scripts/tls.sh
#   tls_ca DIR ca                         # DIR/ca.crt, DIR/ca.key
#   tls_cert DIR ca server localhost      # DIR/server.crt, DIR/server.key (SAN localhost, 127.0.0.1)
#   tls_cert DIR ca client koschei        # a client certificate, CN=koschei
#   tls_rmq_start DIR TCP_PORT TLS_PORT DIST_PORT EPMD_PORT
#   tls_rmq_user DIR TCP_PORT EPMD_PORT koschei   # a user for EXTERNAL login
#   tls_rmq_stop DIR TCP_PORT EPMD_PORT
#
# The broker's state, logs and certificates are under DIR; its node is
# koschei-tls<TCP_PORT>@localhost with its own epmd on EPMD_PORT, so it shares
# nothing with the broker of scripts/lib.sh.

TLS_RMQ_BIN=${TLS_RMQ_BIN:-/usr/lib/rabbitmq/bin}

# tls_ca DIR NAME: a self-signed CA certificate and key.
tls_ca() {
    local dir=$1 name=$2
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=Koschei test CA $name" -addext "basicConstraints=critical,CA:true" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/$name.key" -out "$dir/$name.crt" 2>/dev/null
}

# tls_cert DIR CA NAME CN: a certificate for CN (also valid for localhost and
# 127.0.0.1, for server and client use) signed by DIR/CA.
tls_cert() {
    local dir=$1 ca=$2 name=$3 cn=$4
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null || return 1
    printf '%s\n' "basicConstraints=CA:false" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$cn,DNS:localhost,IP:127.0.0.1" \
        > "$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
    rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# Runs a command with the TLS broker's environment.
tls_rmq_env() {
    local dir=$1 tcp=$2 dist=$3 epmd=$4
    shift 4
    env HOME="$dir/home" RABBITMQ_NODENAME="koschei-tls$tcp@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$tcp" RABBITMQ_DIST_PORT="$dist" ERL_EPMD_PORT="$epmd" \
        ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq" "$@"
}

# tls_rmq_start DIR TCP_PORT TLS_PORT DIST_PORT EPMD_PORT: a broker with a
# plain listener on TCP_PORT (guest, for test tooling) and a TLS listener on
# TLS_PORT verifying clients against DIR/ca.crt with DIR/server.crt; waits
# until it runs.
tls_rmq_start() {
    local dir=$1 tcp=$2 tls=$3 dist=$4 epmd=$5
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    echo '[rabbitmq_auth_mechanism_ssl].' > "$dir/enabled_plugins"
    cat > "$dir/rabbitmq.conf" <<EOF
loopback_users = none
listeners.ssl.default = 127.0.0.1:$tls
ssl_options.cacertfile = $dir/ca.crt
ssl_options.certfile = $dir/server.crt
ssl_options.keyfile = $dir/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
ssl_cert_login_from = common_name
EOF
    tls_rmq_env "$dir" "$tcp" "$dist" "$epmd" setsid "$TLS_RMQ_BIN/rabbitmq-server" > "$dir/stdout.log" 2>&1 &
    local tries=0
    until tls_rmq_ctl "$dir" "$tcp" "$epmd" -t 60 await_startup >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ $tries -ge 120 ]; then
            echo "RabbitMQ (TLS) did not start; see $dir/stdout.log and $dir/log" >&2
            return 1
        fi
        sleep 0.5
    done
}

# tls_rmq_ctl DIR TCP_PORT EPMD_PORT ARGS…: rabbitmqctl against that broker.
tls_rmq_ctl() {
    local dir=$1 tcp=$2 epmd=$3
    shift 3
    tls_rmq_env "$dir" "$tcp" 0 "$epmd" "$TLS_RMQ_BIN/rabbitmqctl" -n "koschei-tls$tcp@localhost" "$@"
}

# tls_rmq_user DIR TCP_PORT EPMD_PORT NAME: a user allowed everything on /,
# without a usable password (it logs in with its certificate).
tls_rmq_user() {
    local dir=$1 tcp=$2 epmd=$3 name=$4
    tls_rmq_ctl "$dir" "$tcp" "$epmd" add_user "$name" "$(openssl rand -hex 16)" >/dev/null &&
        tls_rmq_ctl "$dir" "$tcp" "$epmd" clear_password "$name" >/dev/null &&
        tls_rmq_ctl "$dir" "$tcp" "$epmd" set_permissions -p / "$name" '.*' '.*' '.*' >/dev/null
}

# tls_rmq_stop DIR TCP_PORT EPMD_PORT: stops that broker (`shutdown` returns once its
# VM has exited, so that epmd has no node left) and then its epmd.
tls_rmq_stop() {
    local dir=$1 tcp=$2 epmd=$3
    tls_rmq_ctl "$dir" "$tcp" "$epmd" shutdown >/dev/null 2>&1 || true
    ERL_EPMD_PORT=$epmd epmd -kill >/dev/null 2>&1 || true
}
