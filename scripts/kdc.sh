# A private MIT Kerberos KDC for the tests (sourced by scripts/lib.sh, not executed).
# Realm KOSCHEI.TEST on 127.0.0.1:$KDC_PORT (UDP and TCP), state under
# $KOSCHEI_STATE/krb5: the database, krb5.conf/kdc.conf, and two keytabs:
#   koji-sim.keytab  HTTP/localhost@KOSCHEI.TEST  (the simulated hub's service key)
#   koschei.keytab   koschei@KOSCHEI.TEST         (Koschei's client key)
# plus koschei-short@KOSCHEI.TEST in koschei-short.keytab, whose tickets live
# $KRB5_SHORT_LIFE seconds (tests of ticket renewal).

KRB5_REALM=KOSCHEI.TEST
KDC_PORT=${KDC_PORT:-8788}
KRB5_SHORT_LIFE=${KRB5_SHORT_LIFE:-8}

# Starts the KDC (creating the realm and keytabs the first time); exports
# KRB5_CONFIG (client and acceptor settings for every test) and KOSCHEI_KRB5_DIR.
kdc_start() {
    local dir=$KOSCHEI_STATE/krb5
    mkdir -p "$dir"
    # clockskew 1 s: an expired ticket is refused at once instead of five minutes later.
    cat > "$dir/krb5.conf" <<EOF
[libdefaults]
    default_realm = $KRB5_REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    clockskew = 1
    udp_preference_limit = 1
[realms]
    $KRB5_REALM = {
        kdc = 127.0.0.1:$KDC_PORT
    }
[domain_realm]
    localhost = $KRB5_REALM
EOF
    cat > "$dir/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$KDC_PORT
    kdc_tcp_listen = 127.0.0.1:$KDC_PORT
[realms]
    $KRB5_REALM = {
        database_name = $dir/principal
        key_stash_file = $dir/stash
        acl_file = $dir/kadm5.acl
        max_life = 1h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:$dir/kdc.log
EOF
    : > "$dir/kadm5.acl"
    export KRB5_CONFIG=$dir/krb5.conf KRB5_KDC_PROFILE=$dir/kdc.conf KOSCHEI_KRB5_DIR=$dir
    if [ ! -f "$dir/koschei-short.keytab" ]; then
        log "creating Kerberos realm $KRB5_REALM in $dir"
        rm -f "$dir"/principal* "$dir"/*.keytab
        kdb5_util create -s -r "$KRB5_REALM" -P "$(head -c 24 /dev/urandom | base64)" >/dev/null
        local q=(kadmin.local -r "$KRB5_REALM" -q)
        "${q[@]}" "addprinc -randkey HTTP/localhost" >/dev/null
        "${q[@]}" "ktadd -k $dir/koji-sim.keytab HTTP/localhost" >/dev/null
        "${q[@]}" "addprinc -randkey koschei" >/dev/null
        "${q[@]}" "ktadd -k $dir/koschei.keytab koschei" >/dev/null
        "${q[@]}" "addprinc -randkey -maxlife ${KRB5_SHORT_LIFE}sec koschei-short" >/dev/null
        "${q[@]}" "ktadd -k $dir/koschei-short.keytab koschei-short" >/dev/null
    fi
    if ! { [ -f "$dir/kdc.pid" ] && kill -0 "$(cat "$dir/kdc.pid")" 2>/dev/null; }; then
        krb5kdc -P "$dir/kdc.pid"
        local tries=0
        until [ -s "$dir/kdc.pid" ]; do
            tries=$((tries + 1))
            [ $tries -ge 50 ] && { echo "the KDC did not start; see $dir/kdc.log" >&2; return 1; }
            sleep 0.1
        done
    fi
}

kdc_stop() {
    local pidfile=$KOSCHEI_STATE/krb5/kdc.pid
    [ -f "$pidfile" ] || return 0
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
}
