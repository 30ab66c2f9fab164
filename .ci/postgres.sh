#!/usr/bin/env bash
# Start PostgreSQL on 127.0.0.1:5432 for Houqin's tests and benchmarks (run as root, Debian).
#
# Uses Debian's cluster tools (the newest installed version's "main" cluster), lets the role
# `houqin` in without a password from loopback only, and creates the databases houqin_test
# and houqin_bench owned by it. Idempotent: a second run leaves a running server running.
set -euo pipefail

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
cluster=main
conf=/etc/postgresql/$version/$cluster

if [ ! -d "$conf" ]; then
  pg_createcluster "$version" "$cluster" >/dev/null
fi

wanted=$(cat <<CONF
# Written by .ci/postgres.sh: loopback only, room for several web workers and sweepers.
listen_addresses = '127.0.0.1'
port = 5432
max_connections = 200
shared_buffers = 256MB
CONF
)
changed=0
if [ "$(cat "$conf/conf.d/houqin.conf" 2>/dev/null)" != "$wanted" ]; then
  printf '%s\n' "$wanted" > "$conf/conf.d/houqin.conf"
  changed=1
fi
trust='host all houqin 127.0.0.1/32 trust'
if ! grep -qxF "$trust" "$conf/pg_hba.conf"; then
  # First matching line wins, so the trust line goes before Debian's password lines.
  sed -i "1i $trust" "$conf/pg_hba.conf"
  changed=1
fi

if pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online"' | grep -q .; then
  if [ "$changed" = 1 ]; then pg_ctlcluster "$version" "$cluster" restart; fi
else
  pg_ctlcluster "$version" "$cluster" start
fi

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432 >/dev/null

admin_psql() { (cd / && runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt -p 5432 "$@"); }
if [ -z "$(admin_psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'houqin'")" ]; then
  admin_psql -c "CREATE ROLE houqin LOGIN CREATEDB"
fi
for db in houqin_test houqin_bench; do
  if [ -z "$(admin_psql -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    admin_psql -c "CREATE DATABASE $db OWNER houqin ENCODING 'UTF8' LOCALE 'C.UTF-8' TEMPLATE template0"
  fi
done
echo "PostgreSQL $version on 127.0.0.1:5432: postgresql+psycopg://houqin@127.0.0.1:5432/houqin_test"
