#!/usr/bin/env bash
# The cluster example: two Caddy nodes sharing rooms through the Redis on
# 127.0.0.1:6379 (or $ROOMS_REDIS), behind a third Caddy that balances
# them. From anywhere:
#
#   examples/cluster/run.sh
#
# then open http://localhost:8080 in two windows; Ctrl-C stops all three.
# Node a: http://localhost:8081, admin localhost:2019 (so `caddy rooms`
# works as is); node b: :8082, admin localhost:2020; the front: :8080,
# admin localhost:2021. bin/caddy is built first if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

redis="${ROOMS_REDIS:-redis://127.0.0.1:6379/0}"
hostport="${redis#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
if ! (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null; then
	echo "no Redis at $hostport: start one (apt-get install redis-server), or set ROOMS_REDIS" >&2
	exit 1
fi

if [ ! -x bin/caddy ]; then
	echo "== building bin/caddy"
	go build -o bin/caddy ./cmd/caddy
fi

pids=()
stop() { # each Caddy closes its connections (1001); one that hangs is killed after 15 s
	trap - INT TERM EXIT
	[ ${#pids[@]} -eq 0 ] && return
	kill "${pids[@]}" 2>/dev/null || true
	for _ in $(seq 150); do
		kill -0 "${pids[@]}" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "${pids[@]}" 2>/dev/null || true
	wait
}
trap stop INT TERM EXIT

node() { # name port admin
	ROOMS_NODE="$1" ROOMS_PORT="$2" ROOMS_ADMIN="$3" ROOMS_REDIS="$redis" \
		bin/caddy run --config examples/cluster/node.Caddyfile --adapter caddyfile > >(sed -u "s/^/[$1] /") 2>&1 &
	pids+=($!)
}
node a 8081 2019
node b 8082 2020
bin/caddy run --config examples/cluster/front.Caddyfile --adapter caddyfile > >(sed -u 's/^/[front] /') 2>&1 &
pids+=($!)

echo "== open http://localhost:8080 in two windows; Ctrl-C stops the three Caddy processes"
wait -n "${pids[@]}" # one exiting (a port in use, say) stops the others
