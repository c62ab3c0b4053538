#!/usr/bin/env bash
# Starts the local services the tests talk to when they are not already
# listening, and waits until they accept connections:
#   - MariaDB on 127.0.0.1:3306, plain (no TLS): the state store's tests
#     (EDBA_TEST_MYSQL_URL), and the one a URL without ssl-mode (PREFERRED)
#     uses in plaintext;
#   - PostgreSQL on 127.0.0.1:5432: the local warehouse's tests;
#   - a second MariaDB on 127.0.0.1:3307 that requires TLS, with a
#     self-signed test CA: the TLS tests (tasks' store_tls, the
#     bootstrap_db.sh tests). scripts/services_tls.sh starts it and says
#     where its certificates are (/tmp/edba-mariadb-tls by default).
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
    local name=$1 port=$2
    for _ in $(seq 1 60); do
        if listening "$port"; then return 0; fi
        sleep 1
    done
    echo "services: $name did not start listening on 127.0.0.1:$port" >&2
    return 1
}

if ! listening 3306; then
    echo "services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB 3306
fi

if ! listening 5432; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    wait_for PostgreSQL 5432
fi

"$(dirname "$0")/services_tls.sh"
