#!/usr/bin/env bash
# Starts the second, TLS-only MariaDB the state store's TLS tests talk to
# (tasks/tests/it/store_tls.rs, the bootstrap_db.sh tests), unless it is
# already listening, and waits until it accepts a verified TLS login.
#
#   EDBA_TEST_MARIADB_TLS_DIR   where everything lives (default /tmp/edba-mariadb-tls)
#   EDBA_TEST_MARIADB_TLS_PORT  its TCP port on 127.0.0.1 (default 3307)
#
# In that directory, made once and kept (the tests read the certificates
# from there, by the same variables and defaults):
#   ca.pem, ca-key.pem          a self-signed test CA
#   server-cert.pem, -key.pem   the server's certificate, signed by it, for
#                               127.0.0.1 and localhost (SANs)
#   unrelated-ca.pem            a second CA with the same name but its own key,
#                               which signed nothing the server presents
#   data/                       the datadir (root@127.0.0.1, no password)
#   mariadbd.{sock,pid,err}     socket, pid file and error log
#
# The server requires secure transport: a plaintext TCP login is refused.
# It listens on 127.0.0.1 and on 127.0.0.2, an address its certificate does
# not name (a hostname check must fail there, a CA check must not). Run as
# root (as the tests here are), it runs as root (`--user=root`, which
# mariadbd insists on); otherwise as the current user.
# Stop it with: kill "$(cat "$EDBA_TEST_MARIADB_TLS_DIR/mariadbd.pid")".
set -euo pipefail

dir="${EDBA_TEST_MARIADB_TLS_DIR:-/tmp/edba-mariadb-tls}"
port="${EDBA_TEST_MARIADB_TLS_PORT:-3307}"
die() { echo "services_tls: $*" >&2; exit 1; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for tool in openssl mariadbd mariadb-install-db mariadb; do
    command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] ||
        die "$tool is missing (Debian: apt-get install mariadb-server mariadb-client openssl)"
done
mariadbd="$(command -v mariadbd || echo /usr/sbin/mariadbd)"

mkdir -p "$dir"
chmod 700 "$dir"

# A verified TLS login as root: what "ready" means.
client=(mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$port" -u root
    "--ssl-ca=$dir/ca.pem" --ssl-verify-server-cert --batch --skip-column-names)
accepts_tls_login() { "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1; }

if listening "$port"; then
    [[ -f "$dir/ca.pem" ]] ||
        die "something listens on 127.0.0.1:$port but $dir holds no test CA: another server? (set EDBA_TEST_MARIADB_TLS_PORT)"
    accepts_tls_login ||
        die "the server on 127.0.0.1:$port refuses a TLS login verified with $dir/ca.pem: not ours? (see $dir/mariadbd.err)"
    exit 0
fi

# ---- certificates (once): RSA 2048 keys, ten years, so a kept directory
# does not expire under the tests.
ca() {
    local name=$1
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
        -subj "/O=edba tests/CN=edba test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/$name-key.pem" -out "$dir/$name.pem" 2>/dev/null
}
if [[ ! -f "$dir/ca.pem" || ! -f "$dir/server-cert.pem" || ! -f "$dir/unrelated-ca.pem" ]]; then
    echo "services_tls: making a test CA and server certificate in $dir"
    ca ca
    # Same subject as the real test CA, another key: a client that trusted
    # it would be matching names, not signatures.
    ca unrelated-ca
    rm -f "$dir/unrelated-ca-key.pem"
    openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/O=edba tests/CN=localhost" \
        -keyout "$dir/server-key.pem" -out "$dir/server.csr" 2>/dev/null
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
        -days 3650 -sha256 -out "$dir/server-cert.pem" \
        -extfile <(printf '%s\n' \
            "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" \
            "subjectAltName=IP:127.0.0.1,DNS:localhost") 2>/dev/null
    rm -f "$dir/server.csr" "$dir/ca.srl"
    openssl verify -CAfile "$dir/ca.pem" "$dir/server-cert.pem" >/dev/null ||
        die "the server certificate does not verify against $dir/ca.pem"
fi

# mariadbd refuses to run as root unless told to.
as_user=()
[[ "$(id -u)" == 0 ]] && as_user=(--user=root)

# ---- datadir (once)
if [[ ! -d "$dir/data/mysql" ]]; then
    echo "services_tls: initialising $dir/data"
    rm -rf "$dir/data"
    mariadb-install-db --no-defaults "${as_user[@]}" --datadir="$dir/data" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
        die "mariadb-install-db failed: see $dir/install.log"
fi

echo "services_tls: starting the TLS-only MariaDB on 127.0.0.1:$port"
# Its own session, so it outlives this script and the shell that ran it.
setsid "$mariadbd" --no-defaults "${as_user[@]}" \
    --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1,127.0.0.2 --skip-name-resolve \
    --socket="$dir/mariadbd.sock" --pid-file="$dir/mariadbd.pid" --log-error="$dir/mariadbd.err" \
    --ssl-ca="$dir/ca.pem" --ssl-cert="$dir/server-cert.pem" --ssl-key="$dir/server-key.pem" \
    --require-secure-transport=ON </dev/null >/dev/null 2>&1 &

for _ in $(seq 1 60); do
    if accepts_tls_login; then
        # The install's anonymous accounts could shadow a test user logging
        # in from localhost; the tests' users are named.
        "${client[@]}" -e "DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES"
        exit 0
    fi
    sleep 1
done
die "the TLS MariaDB did not accept a verified TLS login on 127.0.0.1:$port: see $dir/mariadbd.err"
