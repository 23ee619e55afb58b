#!/usr/bin/env bash
# bench/ab.sh: two caddy binaries (two commits of this module) and Nchan,
# alternated run by run in one scenario of bench/compare.sh, so that the
# machine's noise falls on all three alike. Prints one line per run and the
# medians.
#
# Usage: bench/ab.sh BEFORE_CADDY AFTER_CADDY [rounds] [scenario] [duration]
#   defaults: 5 rounds of the p99 scenario (100k deliveries/s), 5s each
# Build the binaries with `go build -o PATH ./cmd/caddy` in each commit's
# checkout (git worktree add DIR COMMIT).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
before=${1:?usage: bench/ab.sh BEFORE_CADDY AFTER_CADDY [rounds] [scenario] [duration]}
after=${2:?usage: bench/ab.sh BEFORE_CADDY AFTER_CADDY [rounds] [scenario] [duration]}
rounds=${3:-5}
scenario=${4:-p99}
duration=${5:-5s}
out=$(mktemp -d /tmp/ab.XXXXXX)

run() { # name, compare.sh options...
	local name=$1
	shift
	"$ROOT/bench/compare.sh" --quick --duration "$duration" --only "$scenario" --reps 1 \
		--no-install --out "$out/$name.$round" "$@" >"$out/$name.$round.log" 2>&1
	jq -c --arg who "$name" '{who: $who, p50_ms, p99_ms, p999_ms, rate: .deliveries_per_sec, cpu_s_per_million, client_limited, other_cpu_share}' \
		"$out/$name.$round/results.jsonl" 2>/dev/null || grep -h "^$scenario " "$out/$name.$round.log"
}

for round in $(seq 1 "$rounds"); do
	run before --caddy "$before" --skip ours-raw,nchan,socketio
	run after --caddy "$after" --skip ours-raw,nchan,socketio
	run nchan --skip ours,ours-raw,socketio
done | tee "$out/runs.jsonl"

for who in before after nchan; do
	jq -rs --arg who "$who" '[.[] | select(.who == $who)] |
		def med(f): (map(f) | sort) as $v | $v[($v | length) / 2 | floor];
		"\($who): medians of \(length): p50 \(med(.p50_ms)) ms, p99 \(med(.p99_ms)) ms, p99.9 \(med(.p999_ms)) ms, CPU \(med(.cpu_s_per_million)) s per 1M"' \
		"$out/runs.jsonl"
done
echo "runs and logs in $out"
