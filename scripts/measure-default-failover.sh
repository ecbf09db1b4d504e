#!/usr/bin/env bash
# Measures failover after kill -9 of the node running the auth-server groups with the cluster
# timings a deployment ships (hocon/cluster.hocon), which the default test run does not: it takes
# about a minute. Starts a private PostgreSQL as scripts/test.sh does (or uses AVPN_TEST_POSTGRES),
# runs the opt-in test and prints the measured time.
set -uo pipefail
cd "$(dirname "$0")/.."

pgdata=""
cleanup() {
  if [ -n "$pgdata" ]; then
    timeout 60 runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1
    rm -rf "$pgdata"
  fi
}
trap cleanup EXIT

if [ -z "${AVPN_TEST_POSTGRES:-}" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$PGBIN" ] || [ "$(id -u)" -ne 0 ] || ! id postgres >/dev/null 2>&1; then
    echo "needs PostgreSQL (Debian's postgresql, as root) or AVPN_TEST_POSTGRES" >&2
    exit 2
  fi
  pgdata=$(mktemp -d /tmp/avpn-pg.XXXXXX)
  chown postgres "$pgdata"; chmod 700 "$pgdata"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  timeout 60 runuser -u postgres -- "$PGBIN/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --no-sync >/dev/null || exit 1
  timeout 60 runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdata" -l "$pgdata/log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c fsync=off" start >/dev/null || exit 1
  export AVPN_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Database=postgres;Username=postgres"
fi

export AVPN_MEASURE_DEFAULT_FAILOVER=1
dotnet build tests/ActorVpn.Deployment.Tests/ActorVpn.Deployment.Tests.csproj -c Release -warnaserror -nologo -v quiet || exit 1
dotnet test tests/ActorVpn.Deployment.Tests/ActorVpn.Deployment.Tests.csproj -c Release --no-build -nologo \
  --filter "FullyQualifiedName~DefaultTimingsFailoverTests" --logger "console;verbosity=detailed" \
  | grep -E "failover after kill -9|Passed|Failed|Skipped"
exit "${PIPESTATUS[0]}"
