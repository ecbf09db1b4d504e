#!/usr/bin/env bash
# The project's one test command (README, .ci/run): restores, builds and runs every test project,
# then prints a plain "N passed, N failed" line counted from the TRX results.
set -uo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp -d)
pgdata=""
cleanup() {
  if [ -n "$pgdata" ]; then
    timeout 60 runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1
    rm -rf "$pgdata"
  fi
  rm -rf "$results"
}
trap cleanup EXIT

# The persistence suite also runs on a real PostgreSQL: install Debian's package when it
# is missing (as root, no prompts), start a private throwaway server on a free port, export its
# connection string to the tests, stop it at the end. Without it those tests skip, saying why.
start_postgres() {
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$PGBIN" ] && [ "$(id -u)" -eq 0 ]; then
    echo "installing postgresql (apt-get)"
    timeout 300 apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  fi
  if [ -z "$PGBIN" ] || [ "$(id -u)" -ne 0 ] || ! id postgres >/dev/null 2>&1; then
    echo "PostgreSQL not available (needs root and Debian's postgresql): its persistence tests will skip"
    return
  fi
  pgdata=$(mktemp -d /tmp/avpn-pg.XXXXXX)
  chown postgres "$pgdata"; chmod 700 "$pgdata"
  local port
  # A port below the kernel's ephemeral range, where no outgoing connection of a running test can take it first.
  port=$(python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(15000, max(15001, low))
    try:
        s = socket.socket(); s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        pass
' 2>/dev/null || echo $((15000 + RANDOM % 15000)))
  if timeout 60 runuser -u postgres -- "$PGBIN/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --no-sync >/dev/null \
     && timeout 60 runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdata" -l "$pgdata/log" -w -t 30 \
          -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c fsync=off" start >/dev/null; then
    export AVPN_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Database=postgres;Username=postgres"
    export AVPN_TEST_PGBIN="$PGBIN"
    echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') for the tests on 127.0.0.1:$port"
  else
    echo "PostgreSQL could not be started (see $pgdata/log): its persistence tests will skip"
  fi
}

dotnet build ActorVpn.sln -c Release -warnaserror -nologo -v quiet
build=$?
if [ $build -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit $build
fi

start_postgres

dotnet test ActorVpn.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 5m -- xunit.parallelizeTestCollections=true
status=$?

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit $status
