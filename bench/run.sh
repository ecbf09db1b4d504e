#!/usr/bin/env bash
# The benchmark harness: ActorVpn as shipped (avpn up + avpn connect, separate processes) and in one process against
# direct loopback TCP, 3 tuned socat relays and OpenSSH (ssh -J through private sshd instances), in one run on loopback,
# with the load generator and the destination in processes of their own. Regenerates docs/benchmarks.md and
# docs/benchmarks-setup-vs-hops.png. It says which case runs and how far along it is ("[case 7/41, 14% done] ...").
#
#   bench/run.sh            # default, ~10 minutes on a quiet machine
#   bench/run.sh --quick    # ~2-3 minutes on a quiet machine, smaller payloads and fewer sessions
#   bench/run.sh --recovery [--users N]   # a home server with 100,000 users recovering from its store
#   bench/run.sh --sessions [--budget S]  # concurrent sessions alone, each proxy its own avpn node (default budget 600 s)
#   bench/run.sh --setups                 # only the shipped set-up cases, for a quick before/after (see the case below)
#
# Installs socat / openssh from Debian's packages when missing (needs root), runs every peer as its own process with
# its own config under a temp dir (never the machine's ssh service), and stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."

build() {
  # BENCH_NO_BUILD=1 reuses the last Release build (e.g. right after ./scripts/test.sh).
  [ "${BENCH_NO_BUILD:-}" = "1" ] && return 0
  echo "bench: building the harness and avpn (Release)" >&2
  dotnet build bench/ActorVpn.Bench -c Release -nologo -v quiet
}

# One case per mode; each runs the harness with its own bound (a safety net: the harness also skips phases near its own bound).
mode=()
limit=1200
case "${1:-}" in
  --recovery)
    # A home server with 100,000 users recovering from SQLite (and PostgreSQL when AVPN_POSTGRES is set).
    build
    exec timeout 1800 dotnet bench/ActorVpn.Bench/bin/Release/net10.0/ActorVpn.Bench.dll "$@"
    ;;
  --flood)
    # Admission under attack: 15,000 idle connections and 60 set-up loops from one profile while another
    # user's set-ups are timed:  bench/run.sh --flood [--idle N] [--loops N] [--samples N]
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    build
    exec timeout 900 dotnet bench/ActorVpn.Bench/bin/Release/net10.0/ActorVpn.Bench.dll "$@"
    ;;
  --setups)
    # Only the shipped set-up cases (p50 sequential, 20 / 100 in parallel, CPU per set-up):
    #   bench/run.sh --setups [--rounds N] [--warm N] [--profile-seconds N] [--streams [--stream-mib N]] [--stream-profile-seconds N]
    #                          [--compare-resumption | --compare-env NAME=VALUE[,NAME=VALUE...]]
    build
    exec timeout 900 dotnet bench/ActorVpn.Bench/bin/Release/net10.0/ActorVpn.Bench.dll "$@"
    ;;
  --quick) mode=(--quick); limit=600 ;;
  --sessions) mode=("$@"); limit=900 ;; # prints its section; docs/benchmarks.md is left as it is
  "") ;;
  *) echo "bench: unknown mode '$1' (use --quick, --setups, --sessions, --recovery, --flood or nothing)" >&2; exit 2 ;;
esac

if [ "${1:-}" != "--sessions" ] && { ! command -v socat >/dev/null || ! command -v ssh >/dev/null || [ ! -x /usr/sbin/sshd ]; }; then
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
    # avpn node drains and leaves its cluster on SIGTERM; whatever is still there after a few seconds is killed.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$tmp/pids"
      [ "$alive" = 0 ] && break
      sleep 0.5
    done
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$tmp/pids"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# 10,000 sessions hold ~10 sockets each in one process; every process started inherits the limit.
ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

build
timeout "$limit" dotnet bench/ActorVpn.Bench/bin/Release/net10.0/ActorVpn.Bench.dll "${mode[@]}" --tmp "$tmp" --docs docs &
bench_pid=$!
wait "$bench_pid"
