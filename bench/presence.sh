#!/usr/bin/env bash
# bench/presence.sh: how long filling one room takes with presence on and
# off, json and raw. For each room size, rep and case, a fresh Caddy (this
# repository's ./cmd/caddy, no -race) pinned to core 0, and roomsbench -fill
# pinned to core 1 connecting that many clients into one room; the four
# cases run interleaved. Prints one line per run and a Markdown table of
# medians, and the presence-on/off ratio for json.
#
# Usage: bench/presence.sh [--sizes "5000 10000"] [--reps 3] [--out DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes="5000 10000"
reps=3
out=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	--sizes) sizes="$2"; shift ;;
	--reps) reps="$2"; shift ;;
	--out) out="$2"; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "presence.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

work=${out:-$(mktemp -d /tmp/presencebench.XXXXXX)}
mkdir -p "$work"
port=${BENCH_PORT_BASE:-18180}
results="$work/results.jsonl"
: >"$results"
log() { echo "presence.sh: $*" >&2; }

(cd "$ROOT" && go build -o "$work/caddy" ./cmd/caddy && go build -o "$work/roomsbench" ./cmd/roomsbench)
cat >"$work/Caddyfile" <<CADDY
{
	admin off
	auto_https off
}
:$port {
	bind 127.0.0.1
	route /json-on/* {
		rooms {
			room {path.1}
		}
	}
	route /json-off/* {
		rooms {
			room {path.1}
			presence off
		}
	}
	route /raw-on/* {
		rooms {
			room {path.1}
			protocol raw
		}
	}
	route /raw-off/* {
		rooms {
			room {path.1}
			protocol raw
			presence off
		}
	}
}
CADDY

pid=""
stop() {
	[[ -n $pid ]] || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
}
trap stop EXIT

start() {
	ulimit -n 20000 2>/dev/null || true
	taskset -c 0 "$work/caddy" run --config "$work/Caddyfile" --adapter caddyfile >>"$work/caddy.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	log "caddy did not start; see $work/caddy.log"
	return 1
}

for rep in $(seq "$reps"); do
	for size in $sizes; do
		for c in json-on json-off raw-on raw-off; do
			start
			line=$(taskset -c 1 "$work/roomsbench" -q -json -fill -target "${c%%-*}" -path "/$c/" \
				-url "ws://127.0.0.1:$port" -clients "$size" -rooms 1 -warmup 2s -pid "$pid" | tail -n 1)
			stop
			echo "$line" | jq -c --arg case "$c" --argjson rep "$rep" '{case: $case, rep: $rep} + .' | tee -a "$results" |
				jq -r '"\(.case) \(.clients): joined in \(.connect_s)s, settled \(.settled_s)s, \(.frames_per_client // 0) frames/client, server CPU \(.server_cpu_s // 0)s, other \(.other_cpu_share) cores (\(.connected) connected)"' >&2
		done
	done
done

jq -rs '
  def median: sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  def r2: . * 100 | round / 100;
  group_by([.clients, .case]) | map({clients: .[0].clients, case: .[0].case,
    joined: (map(.connect_s) | median), settled: (map(.settled_s) | median),
    frames: (map(.frames_per_client // 0) | median), cpu: (map(.server_cpu_s // 0) | median),
    other: (map(.other_cpu_share // 0) | max), runs: length}) as $rows
  | "| members | case | seconds to join all (median) | seconds until the last frame (median) | frames per client after its joined | server CPU s | other processes, cores (max) | runs |",
    "|---:|---|---:|---:|---:|---:|---:|---:|",
    ($rows[] | "| \(.clients) | \(.case) | \(.joined | r2) | \(.settled | r2) | \(.frames | r2) | \(.cpu | r2) | \(.other | r2) | \(.runs) |"),
    "",
    ($rows | group_by(.clients)[] | (map(select(.case == "json-on"))[0]) as $on | (map(select(.case == "json-off"))[0]) as $off
      | "json, \($on.clients) members: presence on / off = \(($on.joined / $off.joined) | r2)x to join, \(($on.settled / $off.settled) | r2)x until the last frame")
' "$results"
log "results in $results"
