#!/usr/bin/env bash
# Issue 8's benchmark harness: ActorVpn against direct loopback TCP, 3 socat relays and OpenSSH (ssh -J through
# private sshd instances), in one run on loopback. Regenerates docs/benchmarks.md and docs/benchmarks-setup-vs-hops.png.
#
#   bench/run.sh            # default, <= 10 minutes
#   bench/run.sh --quick    # <= 2 minutes, smaller payloads and fewer sessions
#
# Installs socat / openssh from Debian's packages when missing (needs root), runs every peer as its own process with
# its own config under a temp dir (never the machine's ssh service), and stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# Issue 5's recovery benchmark: a home server with 100,000 users recovering from SQLite (and PostgreSQL
# when AVPN_POSTGRES is set):  bench/run.sh --recovery [--users N]
if [ "${1:-}" = "--recovery" ]; then
  [ "${BENCH_NO_BUILD:-}" = "1" ] || timeout 600 dotnet build bench/ActorVpn.Bench -c Release -nologo -v quiet
  exec timeout 1800 dotnet bench/ActorVpn.Bench/bin/Release/net10.0/ActorVpn.Bench.dll "$@"
fi

# Admission under attack: 15,000 idle connections and 60 set-up loops from one profile while another
# user's set-ups are timed:  bench/run.sh --flood [--idle N] [--loops N] [--samples N]
if [ "${1:-}" = "--flood" ]; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  [ "${BENCH_NO_BUILD:-}" = "1" ] || timeout 600 dotnet build bench/ActorVpn.Bench -c Release -nologo -v quiet
  exec timeout 900 dotnet bench/ActorVpn.Bench/bin/Release/net10.0/ActorVpn.Bench.dll "$@"
fi

mode=()
limit=600
if [ "${1:-}" = "--quick" ]; then mode=(--quick); limit=150; fi

if ! command -v socat >/dev/null || ! command -v ssh >/dev/null || [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "bench: socat/openssh missing and not root: install socat openssh-server openssh-client" >&2; exit 1; fi
  timeout 300 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq socat openssh-server openssh-client >/dev/null
fi

tmp=$(mktemp -d /tmp/avpn-bench.XXXXXX)
bench_pid=""
cleanup() {
  [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null || true
  if [ -f "$tmp/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$tmp/pids"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# 10,000 sessions hold ~10 sockets each in one process.
ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# BENCH_NO_BUILD=1 reuses the last Release build (e.g. right after ./scripts/test.sh).
[ "${BENCH_NO_BUILD:-}" = "1" ] || timeout 600 dotnet build bench/ActorVpn.Bench -c Release -nologo -v quiet
timeout "$limit" dotnet bench/ActorVpn.Bench/bin/Release/net10.0/ActorVpn.Bench.dll "${mode[@]}" --tmp "$tmp" --docs docs &
bench_pid=$!
wait "$bench_pid"
