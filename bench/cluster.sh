#!/usr/bin/env bash
# bench/cluster.sh: two caddyrooms nodes sharing rooms through one Redis
# against one node alone, on this machine, with the same load client
# (cmd/roomsbench) and the same clients: 1,000 json clients in 10 rooms,
# 100-byte messages, as bench/compare.sh. With two nodes, the clients of
# every room (and the rooms' publishers) are split half and half between
# them, so every message crosses Redis. All servers (the node alone, or
# both nodes and Redis) are pinned to --server-cpus, the client to
# --client-cpus: on a 2-core machine this compares the two setups on the
# same server CPU, so it shows what going through Redis costs, not what a
# second machine adds.
#
# Scenarios (each run starts from fresh servers and a fresh Redis):
#   sweep  the per-room rate raised step by step, as compare.sh does, until
#          deliveries are lost, fall behind the offered rate by 5%, or stop
#          growing: the highest no-loss deliveries/s (saturation)
#   p99    100 msg/s per room (~100k deliveries/s): p50, p99, p99.9
#   ops    the Redis cost of each cluster operation (cmd/redisops): Redis
#          commands, round trips, bytes and CPU per join, leave, publish
#          and heartbeat, counted over --ops-n operations each
# During the cluster's load runs Redis is sampled every second (INFO cpu
# and commandstats): its CPU per publish is taken over the seconds with a
# steady publish rate. The load average is logged before every run and
# sampled during it.
#
# Usage: bench/cluster.sh [options]
#   --quick            short runs (1 s warm-up, 3 s measured), a coarser
#                      sweep, 300 operations per ops phase
#   --only LIST        scenarios, comma-separated, from sweep,p99,ops
#                      (default: all)
#   --reps N           runs per scenario and setup, interleaved (default 3)
#   --duration D       measured time of one run, e.g. 5s
#   --ops-n N          operations per ops phase (default 1000)
#   --server-cpus L    taskset CPU list of the servers (default 0)
#   --client-cpus L    taskset CPU list of the load client (default 1)
#   --dialers N        concurrent connects of the load client (default 64,
#                      as roomsbench's own default)
#   --out DIR          keep configs, logs and raw results in DIR
#   --rebuild          build bin/caddy even if it is up to date
#   -h, --help         this text
#
# Needs go, redis-server, redis-cli, jq, ss and taskset. Builds bin/caddy
# (without -race) if it is missing or older than a Go source file; a
# bin/caddy built with -race is not
# used: a build without it goes into the work folder. Redis is started on a
# free loopback port without persistence (--save "" --appendonly no); the
# machine's own Redis is never touched. Every process is stopped by PID on
# exit. Prints a Markdown table to paste at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"

quick=0 only="sweep,p99,ops" reps=3 duration="" ops_n="" out="" rebuild=0
server_cpus=0 client_cpus=1 dialers=64

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--quick) quick=1 ;;
	--only) only="$2"; shift ;;
	--reps) reps="$2"; shift ;;
	--duration) duration="$2"; shift ;;
	--ops-n) ops_n="$2"; shift ;;
	--server-cpus) server_cpus="$2"; shift ;;
	--client-cpus) client_cpus="$2"; shift ;;
	--dialers) dialers="$2"; shift ;;
	--out) out="$2"; shift ;;
	--rebuild) rebuild=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "cluster.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [[ $quick == 1 ]]; then
	warmup=1s
	: "${duration:=3s}" "${ops_n:=300}"
	sweep_rates=(100 200 400 800 1600 3200)
else
	warmup=2s
	: "${duration:=10s}" "${ops_n:=1000}"
	sweep_rates=(100 200 300 400 600 800 1000 1300 1600 2000 2500 3200 4000)
fi

log() { echo "cluster.sh: $*" >&2; }
has() { [[ ",$1," == *",$2,"* ]]; }

for tool in go redis-server redis-cli jq ss taskset; do
	command -v "$tool" >/dev/null || { log "$tool is needed and missing"; exit 2; }
done

if [[ -n $out ]]; then
	mkdir -p "$out"
	work=$(cd "$out" && pwd)
	keep_work=1
else
	work=$(mktemp -d /tmp/clusterbench.XXXXXX)
	keep_work=0
fi
results="$work/results.jsonl"
: >"$results"

# ---- processes: every one started is stopped by PID on exit ---------------

pids=()          # every server process started
group_pid=""     # the -pid given to roomsbench: the node, or the cluster's parent
sampler_pid=""
redis_port="" node_pids=() redis_pid=""

stop_pid() { # PID...: TERM, wait up to 5 s, then KILL
	local pid
	for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
	for pid in "$@"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	done
}

stop_servers() {
	local f
	[[ -z $sampler_pid ]] || { stop_pid "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""; }
	for f in "$work"/{a,b,redis}.pid; do # the cluster's, also when its start failed half-way
		[[ ! -f $f ]] || { pids+=("$(<"$f")"); rm -f "$f"; }
	done
	[[ ${#pids[@]} -eq 0 ]] || stop_pid "${pids[@]}"
	[[ -z $group_pid ]] || { stop_pid "$group_pid"; wait "$group_pid" 2>/dev/null || true; }
	pids=() node_pids=() group_pid="" redis_pid="" redis_port=""
}

cleanup() {
	trap - EXIT
	stop_servers
	if [[ $keep_work == 0 ]]; then
		rm -rf "$work"
	else
		log "configs, logs and results kept in $work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # PORT NAME LOG
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "$2 did not listen on port $1; its log:"
	tail -n 30 "$3" >&2 || true
	return 1
}

# pick_port VAR: a loopback port below the ephemeral range (where outgoing
# connections take theirs) that nothing listens on and not yet handed out.
handed_out=" "
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
pick_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % (ephemeral_low - 10000)))
		[[ $handed_out != *" $p "* ]] || continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			handed_out+="$p "
			printf -v "$1" '%s' "$p"
			return
		fi
	done
}

# node_config NAME PORT [REDIS_PORT]: writes the node's Caddyfile.
node_config() {
	local global="" tmpl
	if [[ -n ${3:-} ]]; then
		global=$'rooms {\n\t\tbroker redis redis://127.0.0.1:'"$3"$'/0\n\t\tnode '"$1"$'\n\t}'
	fi
	tmpl=$(<"$BENCH/cluster.Caddyfile.tmpl")
	tmpl=${tmpl//@GLOBAL_ROOMS@/$global}
	echo "${tmpl//@PORT@/$2}" >"$work/$1.Caddyfile"
}

# start_single: one node alone; its URL in urls.
start_single() {
	local port
	pick_port port
	node_config solo "$port"
	taskset -c "$server_cpus" "$caddy" run --config "$work/solo.Caddyfile" --adapter caddyfile >>"$work/solo.log" 2>&1 &
	group_pid=$!
	pids+=("$group_pid")
	node_pids=("$group_pid")
	wait_port "$port" "caddy" "$work/solo.log"
	urls="ws://127.0.0.1:$port"
}

# start_cluster: Redis and nodes a and b, children of one parent process
# (group_pid) so that roomsbench's -pid counts the three; URLs in urls,
# node a first.
start_cluster() {
	local pa pb
	pick_port redis_port
	pick_port pa
	pick_port pb
	node_config a "$pa" "$redis_port"
	node_config b "$pb" "$redis_port"
	mkdir -p "$work/redis"
	rm -f "$work"/{redis,a,b}.pid
	(
		taskset -c "$server_cpus" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
			--dir "$work/redis" --logfile "$work/redis.log" &
		echo $! >"$work/redis.pid"
		wait_port "$redis_port" redis-server "$work/redis.log" || exit 1
		for n in a b; do
			taskset -c "$server_cpus" "$caddy" run --config "$work/$n.Caddyfile" --adapter caddyfile >>"$work/$n.log" 2>&1 &
			echo $! >"$work/$n.pid"
		done
		wait
	) &
	group_pid=$!
	wait_port "$pa" "node a" "$work/a.log"
	wait_port "$pb" "node b" "$work/b.log"
	redis_pid=$(<"$work/redis.pid")
	node_pids=("$(<"$work/a.pid")" "$(<"$work/b.pid")")
	pids+=("${node_pids[@]}" "$redis_pid")
	rm -f "$work"/{redis,a,b}.pid
	urls="ws://127.0.0.1:$pa,ws://127.0.0.1:$pb"
}

fresh() { stop_servers; "start_$1"; }

# ---- sampling: the load average, and Redis's CPU and publishes ------------

# sampler FILE: every second a line "unix_time load1 [redis_cpu_s evalsha_calls]".
sampler() {
	local line
	while :; do
		line="$(date +%s.%N) $(cut -d' ' -f1 /proc/loadavg)"
		if [[ -n $redis_port ]]; then
			line+=" $(redis-cli -p "$redis_port" INFO cpu commandstats 2>/dev/null | tr -d '\r' | awk -F'[:,=]' '
				/^used_cpu_sys:/ {s = $2} /^used_cpu_user:/ {u = $2} /^cmdstat_evalsha:/ {c = $3}
				END {printf "%.6f %d", s + u, c}')"
		fi
		echo "$line" >>"$1"
		sleep 1
	done
}

# steady FILE: JSON of the load average's peak and, with Redis samples, the
# publishes/s and Redis CPU over the seconds whose publish rate was at
# least 90% of the highest (the measured window, not connect or drain).
steady() {
	awk '
		{ t[NR] = $1; l = $2 + 0; if (l > load) load = l; cpu[NR] = $3; calls[NR] = $4 }
		END {
			for (i = 2; i <= NR; i++) { r = (calls[i] - calls[i-1]) / (t[i] - t[i-1]); if (r > top) top = r }
			for (i = 2; i <= NR; i++) {
				dt = t[i] - t[i-1]; dc = calls[i] - calls[i-1]
				if (top > 0 && dc / dt >= 0.9 * top) { T += dt; C += dc; U += cpu[i] - cpu[i-1] }
			}
			printf "{\"load_during\":%s", load + 0
			if (C > 0) printf ",\"redis_publishes_per_sec\":%.1f,\"redis_cpu_share\":%.4f,\"redis_cpu_us_per_publish\":%.2f,\"redis_steady_s\":%.1f", C / T, U / T, U * 1e6 / C, T
			print "}"
		}' "$1"
}

proc_cpu() { # PID: utime+stime in seconds
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ---- builds -----------------------------------------------------------------

caddy="$ROOT/bin/caddy"
if [[ $rebuild == 1 || ! -x $caddy || -n $(find "$ROOT" -name '*.go' -newer "$caddy" -print -quit) ]]; then
	log "building bin/caddy (no -race): missing, older than the sources, or --rebuild"
	mkdir -p "$ROOT/bin"
	(cd "$ROOT" && go build -o bin/caddy ./cmd/caddy)
elif go version -m "$caddy" | grep -q -- '-race=true'; then
	log "bin/caddy was built with -race: building one without into $work"
	(cd "$ROOT" && go build -o "$work/caddy" ./cmd/caddy)
	caddy="$work/caddy"
fi
log "building roomsbench and redisops"
(cd "$ROOT" && go build -o "$work/roomsbench" ./cmd/roomsbench && go build -o "$work/redisops" ./cmd/redisops)

# ---- one load run -------------------------------------------------------------

declare -A label=([single]="1 node" [cluster]="2 nodes + Redis")
setups=(single cluster)

# bench SCENARIO SETUP REP ARGS...: one client run against servers that
# fresh has just started; its JSON result, tagged, goes to results.jsonl and
# stdout, a one-line summary to stderr.
bench() {
	local scenario=$1 setup=$2 rep=$3 line load_before samples extra cpu0=() cpu1=() p
	shift 3
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	samples="$work/samples-$scenario-$setup-$rep.txt"
	: >"$samples"
	taskset -c "$client_cpus" bash -c "$(declare -f sampler); redis_port=$redis_port; sampler $samples" &
	sampler_pid=$!
	for p in "${pids[@]}"; do cpu0+=("$(proc_cpu "$p")"); done
	if ! line=$(taskset -c "$client_cpus" "$work/roomsbench" -q -json -target json -url "$urls" -pid "$group_pid" \
		-room-prefix "c$(date +%s%N)x" "$@" 2>>"$work/client.log" | tail -n 1); then
		log "$scenario/$setup run $rep failed (see $work/client.log)"
		line='{"failed":true}'
	fi
	for p in "${pids[@]}"; do cpu1+=("$(proc_cpu "$p")"); done
	stop_pid "$sampler_pid"
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=""
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || { log "a server process ($p) of $setup died during $scenario"; exit 1; }
	done
	extra=$(steady "$samples")
	line=$(jq -c --arg s "$scenario" --arg v "$setup" --argjson r "$rep" --arg lb "$load_before" --argjson x "$extra" \
		--arg c0 "${cpu0[*]}" --arg c1 "${cpu1[*]}" \
		'. + $x + {scenario:$s, setup:$v, rep:$r, load_before:$lb,
			process_cpu_s: ([$c0, $c1] | map(split(" ") | map(tonumber)) | transpose | map(.[1] - .[0] | . * 100 | round / 100))}' <<<"$line")
	echo "$line" >>"$results"
	jq -r '"\(.scenario) \(.setup) #\(.rep): " + (if .failed then "FAILED" else
		"\(.deliveries_per_sec // 0 | floor)/s lost \(.lost // 0) p50 \(.p50_ms // 0) p99 \(.p99_ms // 0) p99.9 \(.p999_ms // 0)ms server cpu \(.server_cpu_s // 0)s (per process \(.process_cpu_s)) other \(.other_cpu_share // 0 | .*100 | floor)% load \(.load_before) -> \(.load_during)"
		+ (if .redis_cpu_us_per_publish then " redis \(.redis_cpu_us_per_publish)us/publish at \(.redis_publishes_per_sec)/s" else "" end)
		+ (if .client_limited then " CLIENT-LIMITED: \(.client_limit_why)" else "" end) end)' <<<"$line" >&2
	echo "$line"
}

common=(-clients 1000 -rooms 10 -size 100 -warmup "$warmup" -duration "$duration" -dialers "$dialers")

scenario_p99() { fresh "$1"; bench p99 "$1" "$2" -rate 100 "${common[@]}" >/dev/null; }

step_rate() { jq -r '.deliveries_per_sec // 0 | floor' <<<"$1"; }
step_score() { jq -r '(if (.lost // 1) == 0 then 1e9 else 0 end) + (.deliveries_per_sec // 0) | floor' <<<"$1"; }
sweep_stops() { # RESULT PREV: whether this step ends the sweep (as compare.sh)
	local dps lost offered
	dps=$(step_rate "$1")
	lost=$(jq -r '.lost // 1' <<<"$1")
	offered=$(jq -r '.offered_per_sec // 0 | floor' <<<"$1")
	[[ $lost != 0 ]] || ((dps * 100 < offered * 95)) || ((dps * 100 < $2 * 102))
}

# scenario_sweep SETUP REP: compare.sh's sweep; the best no-loss step's
# figures (rate, latencies, Redis CPU) are recorded as scenario "sweep".
scenario_sweep() {
	local setup=$1 rep=$2 rate line retry best=0 best_line='{}' prev=0 capped=true
	for rate in "${sweep_rates[@]}"; do
		fresh "$setup"
		line=$(bench "sweep-$rate" "$setup" "$rep" -rate "$rate" "${common[@]}")
		if sweep_stops "$line" "$prev"; then
			fresh "$setup"
			retry=$(bench "sweep-$rate" "$setup" "$rep" -rate "$rate" "${common[@]}")
			[[ $(step_score "$retry") -le $(step_score "$line") ]] || line=$retry
		fi
		if [[ $(jq -r '.lost // 1' <<<"$line") == 0 ]] && (($(step_rate "$line") > best)); then
			best=$(step_rate "$line")
			best_line=$line
		fi
		if sweep_stops "$line" "$prev"; then
			capped=false
			break
		fi
		prev=$(step_rate "$line")
	done
	jq -c --argjson b "$best" --argjson capped "$capped" '{scenario:"sweep", setup, rep, max_no_loss_per_sec:$b, capped:$capped,
		best_rate_per_room:.rate_per_room, client_limited, redis_cpu_us_per_publish, redis_publishes_per_sec, redis_cpu_share}' \
		<<<"$(jq -c --arg v "$setup" --argjson r "$rep" '. + {setup:$v, rep:$r}' <<<"$best_line")" >>"$results"
	log "sweep $setup #$rep: highest no-loss rate $best deliveries/s"
}

# scenario_ops: the Redis cost per operation, on a fresh cluster.
scenario_ops() {
	fresh cluster
	local a=${urls%%,*} b=${urls##*,}
	log "counting Redis operations: $ops_n per phase (two heartbeat phases of 21 s)"
	taskset -c "$client_cpus" "$work/redisops" -a "$a" -b "$b" -redis-port "$redis_port" -n "$ops_n" \
		-json "$work/ops.json" >"$work/ops.md" 2>>"$work/client.log" || { log "redisops failed (see $work/client.log)"; exit 1; }
	stop_servers
}

scenarios=()
for s in sweep p99; do has "$only" "$s" && scenarios+=("$s"); done

log "setups: ${setups[*]}; scenarios: ${scenarios[*]} $(has "$only" ops && echo ops); $reps reps of $duration (warm-up $warmup); servers on CPUs $server_cpus, client on $client_cpus; work folder $work"
machine="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr), $(redis-server --version | cut -d' ' -f3), $(go version | cut -d' ' -f3)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${scenarios[@]}"; do
	for rep in $(seq "$reps"); do
		for setup in "${setups[@]}"; do
			"scenario_$s" "$setup" "$rep"
		done
	done
done
stop_servers
if has "$only" ops; then scenario_ops; fi

# ---- the tables -------------------------------------------------------------

# cell SCENARIO SETUP FIELD DECIMALS: the median over the reps, or "-".
cell() {
	jq -rs --arg s "$1" --arg v "$2" --arg f "$3" --argjson d "$4" '
		[.[] | select(($s == "" or .scenario == $s) and .setup == $v and (.failed | not)) | .[$f] | select(. != null)]
		| sort | if length == 0 then "-" else .[(length - 1) / 2 | floor] | (. * pow(10; $d) | round) / pow(10; $d) end
	' "$results"
}
row() { # LABEL SCENARIO FIELD DECIMALS
	echo "| $1 | $(cell "$2" single "$3" "$4") | $(cell "$2" cluster "$3" "$4") |"
}

echo
echo "Command: bench/cluster.sh$(if [[ $quick == 1 ]]; then echo " --quick"; fi) --reps $reps --duration $duration --dialers $dialers; servers on CPUs $server_cpus, client on $client_cpus; machine: $machine; load average at the start: $load_start"
echo
if [[ ${#scenarios[@]} -gt 0 ]]; then
	echo "| 1,000 json clients, 10 rooms, 100 B messages (median of $reps) | ${label[single]} | ${label[cluster]} |"
	echo "|---|---:|---:|"
	if has "$only" sweep; then
		row "highest no-loss deliveries/s (saturation)" sweep max_no_loss_per_sec 0
		row "at that rate: Redis CPU µs per publish" sweep redis_cpu_us_per_publish 1
		row "at that rate: Redis publishes/s" sweep redis_publishes_per_sec 0
	fi
	if has "$only" p99; then
		row "~100k deliveries/s (100 msg/s per room): p50 ms" p99 p50_ms 2
		row "~100k deliveries/s: p99 ms" p99 p99_ms 2
		row "~100k deliveries/s: p99.9 ms" p99 p999_ms 2
		row "~100k deliveries/s: lost deliveries" p99 lost 0
		row "~100k deliveries/s: server CPU s per 1M deliveries (Redis included)" p99 cpu_s_per_million 2
		row "~100k deliveries/s: Redis CPU µs per publish" p99 redis_cpu_us_per_publish 1
		row "~100k deliveries/s: Redis CPU, cores" p99 redis_cpu_share 3
	fi
	row "other processes' CPU during the runs, cores (noise)" "" other_cpu_share 2
	row "load average (1 min) during the runs" "" load_during 2
	echo
	jq -rs '[.[] | select(.client_limited and .scenario != "sweep") | "\(.scenario)/\(.setup) #\(.rep): \(.client_limit_why)"]
		| if length > 0 then "The load client reported itself as a possible limit in: " + join("; ") else empty end' "$results"
	jq -rs --arg top "${sweep_rates[-1]}" '[.[] | select(.scenario == "sweep" and .capped) | .setup] | unique
		| if length > 0 then "Sweep: \(join(", ")) passed the highest rate tried (\($top) msg/s per room)." else empty end' "$results"
	echo "Raw results: $results"
fi
if has "$only" ops; then
	echo
	echo "Redis cost per operation ($ops_n operations per phase, 2 nodes, Redis $(redis-server --version | cut -d' ' -f3)):"
	echo
	cat "$work/ops.md"
fi
