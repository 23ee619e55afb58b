#!/usr/bin/env bash
# bench/compare.sh: caddyrooms side by side with Nchan and Socket.IO 4 on this
# machine, with the same load client (cmd/roomsbench), each server pinned to
# core 0 and the client to core 1 (see shared/PEERS.md). Every scenario runs
# --reps times per server, interleaved across servers (so that the machine's
# noise falls on every server alike), and one Markdown table with the median
# per scenario and server is printed at the end; cmd/benchcharts then draws
# deliveries.svg, latency.svg and memory.svg from the results. The machine's
# load average and top processes are logged before every scenario (noise.log),
# and each result records the other processes' CPU during its run.
#
# Usage: bench/compare.sh [options]
#   --quick            short runs (1 s warm-up, 3 s measured) and a coarser
#                      rate sweep
#   --only LIST        scenarios to run, comma-separated, from:
#                      light,sweep,p99,p300,bigroom,idle,slow (default: all)
#   --skip LIST        servers to leave out, from: ours,ours-raw,nchan,socketio
#   --reps N           runs per scenario and server (default 3)
#   --duration D       measured time of one run, e.g. 5s (overrides --quick's)
#   --out DIR          keep configs, logs, raw results and charts in DIR
#   --charts DIR       also copy the charts into DIR
#   --no-install       do not apt-get/npm install anything that is missing
#   --caddy PATH       run this caddy binary (built with this module) instead
#                      of building one from the working tree: to compare two
#                      commits, one run each, alternated
#   -h, --help         this text
#
# Installs what is missing: nginx with the Nchan module and jq (apt-get), and
# socket.io@4 (npm, into the work folder). Builds caddy and roomsbench into the work folder.
# Servers listen on 127.0.0.1 only (ports from BENCH_PORT_BASE, default
# 18080..18082) and are stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"

quick=0
only="light,sweep,p99,p300,bigroom,idle,slow"
charts=""
skip=""
reps=3
duration=""
out=""
install=1
caddy_bin=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--quick) quick=1 ;;
	--only) only="$2"; shift ;;
	--skip) skip="$2"; shift ;;
	--reps) reps="$2"; shift ;;
	--duration) duration="$2"; shift ;;
	--out) out="$2"; shift ;;
	--charts) charts="$2"; shift ;;
	--no-install) install=0 ;;
	--caddy) caddy_bin="$2"; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [[ $quick == 1 ]]; then
	warmup=1s
	: "${duration:=3s}"
	sweep_rates=(100 200 400 800 1600 3200)
else
	warmup=2s
	: "${duration:=10s}"
	sweep_rates=(100 200 300 400 600 800 1000 1300 1600 2000 2500 3200 4000)
fi

port_base=${BENCH_PORT_BASE:-18080}
port_ours=$port_base
port_nchan=$((port_base + 1))
port_sio=$((port_base + 2))

if [[ -n $out ]]; then
	mkdir -p "$out"
	work=$(cd "$out" && pwd)
	keep_work=1
else
	work=$(mktemp -d /tmp/roomsbench.XXXXXX)
	keep_work=0
fi
results="$work/results.jsonl"
: >"$results"

log() { echo "compare.sh: $*" >&2; }
has() { [[ ",$1," == *",$2,"* ]]; }

# ---- servers: started pinned to core 0, stopped on exit -------------------

declare -A server_pid=()

cleanup() {
	local name pid
	for name in "${!server_pid[@]}"; do
		pid=${server_pid[$name]}
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	for name in "${!server_pid[@]}"; do
		pid=${server_pid[$name]}
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	if [[ $keep_work == 0 ]]; then
		rm -rf "$work"
	else
		log "configs, logs and results kept in $work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_server NAME: stops a server this script started, and waits for it.
stop_server() {
	local pid=${server_pid[$1]:-}
	[[ -n $pid ]] || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "server_pid[$1]"
}

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

start_ours() {
	sed -e "s|@PORT@|$port_ours|g" "$BENCH/Caddyfile.tmpl" >"$work/Caddyfile"
	taskset -c 0 "$work/caddy" run --config "$work/Caddyfile" --adapter caddyfile \
		>>"$work/caddy.log" 2>&1 &
	server_pid[ours]=$!
	wait_port "$port_ours" caddy "$work/caddy.log"
}

start_nchan() {
	local load=""
	if [[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ]]; then
		load="load_module /usr/lib/nginx/modules/ngx_nchan_module.so;"
	fi
	mkdir -p "$work/nginx/tmp"
	sed -e "s|@LOAD_MODULE@|$load|" -e "s|@PREFIX@|$work/nginx|g" -e "s|@PORT@|$port_nchan|g" \
		"$BENCH/nginx.conf.tmpl" >"$work/nginx/nginx.conf"
	taskset -c 0 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -e "$work/nginx/startup.log" \
		-g 'daemon off;' >>"$work/nginx/out.log" 2>&1 &
	server_pid[nchan]=$!
	wait_port "$port_nchan" nginx "$work/nginx/nginx-error.log"
}

start_socketio() {
	cp "$BENCH/socketio-server.js" "$work/sio/"
	(cd "$work/sio" && exec taskset -c 0 node socketio-server.js "$port_sio") >>"$work/sio/out.log" 2>&1 &
	server_pid[socketio]=$!
	wait_port "$port_sio" socket.io "$work/sio/out.log"
}

# ---- what to install and build --------------------------------------------

want_ours=0 want_raw=0 want_nchan=0 want_sio=0
has "$skip" ours || want_ours=1
has "$skip" ours-raw || want_raw=1
has "$skip" nchan || want_nchan=1
has "$skip" socketio || want_sio=1

apt_updated=0
apt_install() {
	if [[ $install == 0 ]]; then
		log "missing: $* (and --no-install was given)"
		return 1
	fi
	if [[ $apt_updated == 0 ]]; then
		apt-get update -q >/dev/null
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

command -v jq >/dev/null || apt_install jq
command -v taskset >/dev/null || apt_install util-linux
if [[ $want_nchan == 1 ]] && { ! command -v nginx >/dev/null || [[ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]]; }; then
	log "installing nginx and the Nchan module"
	apt_install nginx-light libnginx-mod-nchan || apt_install nginx libnginx-mod-nchan
fi
if [[ $want_sio == 1 ]]; then
	command -v node >/dev/null || apt_install nodejs npm
	mkdir -p "$work/sio"
	if [[ ! -d "$work/sio/node_modules/socket.io" ]]; then
		log "installing socket.io@4 into $work/sio"
		(cd "$work/sio" && npm install --no-audit --no-fund --silent socket.io@4 >/dev/null)
	fi
fi

if [[ -n $caddy_bin && ( $want_ours == 1 || $want_raw == 1 ) ]]; then
	[[ -x $caddy_bin ]] || { echo "compare.sh: --caddy $caddy_bin: not an executable" >&2; exit 2; }
	log "using $caddy_bin"
	cp "$caddy_bin" "$work/caddy"
elif [[ $want_ours == 1 || $want_raw == 1 ]]; then
	log "building caddy (no -race) into $work"
	(cd "$ROOT" && go build -o "$work/caddy" ./cmd/caddy)
fi
log "building roomsbench and benchcharts"
(cd "$ROOT" && go build -o "$work/roomsbench" ./cmd/roomsbench && go build -o "$work/benchcharts" ./cmd/benchcharts)

# ---- servers and their client targets -------------------------------------

servers=()
declare -A target=() url=() process=() label=()
if [[ $want_ours == 1 ]]; then
	servers+=(ours); target[ours]=json; url[ours]="ws://127.0.0.1:$port_ours"
	process[ours]=ours; label[ours]="caddyrooms json"
fi
if [[ $want_raw == 1 ]]; then
	servers+=(ours-raw); target[ours-raw]=raw; url[ours-raw]="ws://127.0.0.1:$port_ours"
	process[ours-raw]=ours; label[ours-raw]="caddyrooms raw"
fi
if [[ $want_nchan == 1 ]]; then
	servers+=(nchan); target[nchan]=nchan; url[nchan]="ws://127.0.0.1:$port_nchan"
	process[nchan]=nchan; label[nchan]="Nchan"
fi
if [[ $want_sio == 1 ]]; then
	servers+=(socketio); target[socketio]=socketio; url[socketio]="ws://127.0.0.1:$port_sio"
	process[socketio]=socketio; label[socketio]="Socket.IO 4"
fi

# fresh SERVER: (re)starts the process behind SERVER, so that every run
# starts from a clean server: no backlog of the run before still burning
# core 0, no heap grown by it (which would also spoil RSS per connection).
fresh() {
	local p=${process[$1]}
	stop_server "$p"
	"start_$p"
}
[[ ${#servers[@]} -gt 0 ]] || { log "every server was skipped"; exit 2; }

# ---- running the client ----------------------------------------------------

# bench SCENARIO SERVER REP ARGS...: one client run against a server that
# fresh has just started (call it first, outside any $(...)). Its JSON result,
# tagged, goes to results.jsonl and stdout, a one-line summary to stderr.
bench() {
	local scenario=$1 server=$2 rep=$3
	shift 3
	local line
	if ! line=$(taskset -c 1 "$work/roomsbench" -q -json -target "${target[$server]}" -url "${url[$server]}" \
		-pid "${server_pid[${process[$server]}]}" -room-prefix "b$(date +%s%N)x" "$@" 2>>"$work/client.log" | tail -n 1); then
		log "$scenario/$server run $rep failed (see $work/client.log)"
		line='{"failed":true}'
	fi
	if ! kill -0 "${server_pid[${process[$server]}]}" 2>/dev/null; then
		log "$server died during $scenario"
		exit 1
	fi
	line=$(jq -c --arg s "$scenario" --arg v "$server" --argjson r "$rep" --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" \
		'. + {scenario:$s, server:$v, rep:$r, loadavg:$l}' <<<"$line")
	echo "$line" >>"$results"
	jq -r '"\(.scenario) \(.server) #\(.rep): " + (if .failed then "FAILED" else
		"\(.deliveries_per_sec // 0 | floor)/s lost \(.lost // 0) p50 \(.p50_ms // 0) p99 \(.p99_ms // 0) p99.9 \(.p999_ms // 0)ms rss/conn \(.rss_per_conn_bytes // 0 | floor) client busy \(.client_busy_share // 0 | .*100 | floor)% other \(.other_cpu_share // 0 | .*100 | floor)% load \(.loadavg)" + (if .client_limited then " CLIENT-LIMITED: \(.client_limit_why)" else "" end) end)' <<<"$line" >&2
	echo "$line"
}

common=(-warmup "$warmup" -duration "$duration")

scenario_light() { fresh "$1"; bench light "$1" "$2" -clients 1000 -rooms 10 -rate 10 -size 100 "${common[@]}" >/dev/null; }
scenario_p99() { fresh "$1"; bench p99 "$1" "$2" -clients 1000 -rooms 10 -rate 100 -size 100 "${common[@]}" >/dev/null; }
scenario_p300() { fresh "$1"; bench p300 "$1" "$2" -clients 1000 -rooms 10 -rate 300 -size 100 "${common[@]}" >/dev/null; }
scenario_bigroom() { fresh "$1"; bench bigroom "$1" "$2" -clients 5000 -rooms 1 -rate 20 -size 100 "${common[@]}" >/dev/null; }
scenario_idle() { fresh "$1"; bench idle "$1" "$2" -idle -clients 10000 -rooms 100 -warmup 3s >/dev/null; }
scenario_slow() {
	# 99 fast members and one that never reads (a 4 KiB receive buffer),
	# ~2 MB/s for it to fall behind on; at least 8 s so that its buffers fill.
	local d=$duration
	[[ $(secs "$d") -ge 8 ]] || d=8s
	fresh "$1"
	bench slow "$1" "$2" -clients 100 -rooms 1 -rate 500 -size 4000 -slow 1 -warmup "$warmup" -duration "$d" >/dev/null
}
# The rate sweep: 1,000 clients in 10 rooms, the per-room rate raised step by
# step until deliveries are lost, the server falls behind the offered rate by
# more than 5%, or the delivered rate stops growing (< 2% more than the step
# before). A step that ends the sweep is run once more first, and the better
# of the two counts: on a shared machine one disturbed run should not end it.
# The result is the highest delivered rate of a step without loss; "capped"
# marks a sweep that passed its last step (the server may do more).
scenario_sweep() {
	local server=$1 rep=$2 rate line retry best=0 best_client=false prev=0 capped=true
	for rate in "${sweep_rates[@]}"; do
		fresh "$server"
		line=$(bench "sweep-$rate" "$server" "$rep" -clients 1000 -rooms 10 -rate "$rate" -size 100 "${common[@]}")
		if sweep_stops "$line" "$prev"; then
			fresh "$server"
			retry=$(bench "sweep-$rate" "$server" "$rep" -clients 1000 -rooms 10 -rate "$rate" -size 100 "${common[@]}")
			if [[ $(step_score "$retry") -gt $(step_score "$line") ]]; then
				line=$retry
			fi
		fi
		if [[ $(jq -r '.lost // 1' <<<"$line") == 0 ]] && (($(step_rate "$line") > best)); then
			best=$(step_rate "$line")
			best_client=$(jq -r '.client_limited // false' <<<"$line")
		fi
		if sweep_stops "$line" "$prev"; then
			capped=false
			break
		fi
		prev=$(step_rate "$line")
	done
	jq -cn --arg v "$server" --argjson r "$rep" --argjson b "$best" --argjson c "$best_client" --argjson capped "$capped" \
		'{scenario:"sweep", server:$v, rep:$r, max_no_loss_per_sec:$b, client_limited:$c, capped:$capped}' >>"$results"
	log "sweep $server #$rep: highest no-loss rate $best deliveries/s"
}

step_rate() { jq -r '.deliveries_per_sec // 0 | floor' <<<"$1"; }
# step_score ranks two runs of a step: no loss first, then the delivered rate.
step_score() { jq -r '(if (.lost // 1) == 0 then 1e9 else 0 end) + (.deliveries_per_sec // 0) | floor' <<<"$1"; }
# sweep_stops RESULT PREV: whether this step ends the sweep.
sweep_stops() {
	local dps lost offered
	dps=$(step_rate "$1")
	lost=$(jq -r '.lost // 1' <<<"$1")
	offered=$(jq -r '.offered_per_sec // 0 | floor' <<<"$1")
	[[ $lost != 0 ]] || ((dps * 100 < offered * 95)) || ((dps * 100 < $2 * 102))
}

secs() { # 3s -> 3, 1m -> 60, 500ms -> 0
	local d=$1
	case "$d" in
	*ms) echo 0 ;;
	*m) echo $((${d%m} * 60)) ;;
	*s) echo "${d%s}" | cut -d. -f1 ;;
	*) echo "$d" ;;
	esac
}

scenarios=()
for s in light sweep p99 p300 bigroom idle slow; do
	has "$only" "$s" && scenarios+=("$s")
done
[[ ${#scenarios[@]} -gt 0 ]] || { log "--only $only names no scenario"; exit 2; }

log "servers: ${servers[*]}; scenarios: ${scenarios[*]}; $reps reps of ${duration} (warm-up $warmup); work folder $work"
# noise: the load average and the busiest processes, into noise.log.
noise() {
	{
		echo "== $(date -u +%H:%M:%S) $*: load average $(cut -d' ' -f1-3 /proc/loadavg)"
		top -bn1 -w 160 | sed -n '7,14p'
	} >>"$work/noise.log" 2>/dev/null || true
}

noise "before the runs"
for s in "${scenarios[@]}"; do
	for rep in $(seq "$reps"); do
		noise "$s #$rep"
		for server in "${servers[@]}"; do
			"scenario_$s" "$server" "$rep"
		done
	done
done

# ---- the table: median of the reps per scenario and server -----------------

# cell SCENARIO SERVER FIELD DIVISOR DECIMALS: the median over the reps of a
# numeric field divided by DIVISOR, or "-" when no run of that pair has it.
# An empty SCENARIO takes every run of the server.
cell() {
	jq -rs --arg s "$1" --arg v "$2" --arg f "$3" --argjson div "$4" --argjson d "$5" '
		[.[] | select(($s == "" or .scenario == $s) and .server == $v and (.failed | not)) | .[$f] | select(. != null) | . / $div]
		| sort | if length == 0 then "-" else .[(length - 1) / 2 | floor] | (. * pow(10; $d) | round) / pow(10; $d) end
	' "$results"
}

row() { # LABEL SCENARIO FIELD DIVISOR DECIMALS
	local line="| $1 |" server
	for server in "${servers[@]}"; do
		line+=" $(cell "$2" "$server" "$3" "$4" "$5") |"
	done
	echo "$line"
}

header="| scenario (median of $reps) |"
rule="|---|"
for server in "${servers[@]}"; do
	header+=" ${label[$server]} |"
	rule+="---:|"
done

echo
echo "$header"
echo "$rule"
for s in "${scenarios[@]}"; do
	case $s in
	light)
		row "light (~10k deliveries/s): 1k clients, 10 rooms, 10 msg/s/room, 100 B: p50 ms" light p50_ms 1 2
		row "light: p99 ms" light p99_ms 1 2
		row "light: p99.9 ms" light p999_ms 1 2
		row "light: server CPU s per 1M deliveries" light cpu_s_per_million 1 2
		row "light: lost deliveries" light lost 1 0
		;;
	sweep)
		row "sweep (1k clients, 10 rooms): highest no-loss deliveries/s" sweep max_no_loss_per_sec 1 0
		;;
	p99)
		row "~100k deliveries/s (1k clients, 10 rooms, 100 msg/s/room): p50 ms" p99 p50_ms 1 2
		row "~100k deliveries/s: p99 ms" p99 p99_ms 1 2
		row "~100k deliveries/s: p99.9 ms" p99 p999_ms 1 2
		row "~100k deliveries/s: server CPU s per 1M deliveries" p99 cpu_s_per_million 1 2
		row "~100k deliveries/s: lost deliveries" p99 lost 1 0
		;;
	p300)
		row "~300k deliveries/s (1k clients, 10 rooms, 300 msg/s/room): p50 ms" p300 p50_ms 1 2
		row "~300k deliveries/s: p99 ms" p300 p99_ms 1 2
		row "~300k deliveries/s: p99.9 ms" p300 p999_ms 1 2
		row "~300k deliveries/s: server CPU s per 1M deliveries" p300 cpu_s_per_million 1 2
		row "~300k deliveries/s: lost deliveries" p300 lost 1 0
		;;
	bigroom)
		row "one room of 5,000 at 20 msg/s (~100k/s): deliveries/s" bigroom deliveries_per_sec 1 0
		row "one room of 5,000: p50 ms" bigroom p50_ms 1 2
		row "one room of 5,000: p99 ms" bigroom p99_ms 1 2
		row "one room of 5,000: p99.9 ms" bigroom p999_ms 1 2
		row "one room of 5,000: lost deliveries" bigroom lost 1 0
		row "one room of 5,000: seconds to connect and join all" bigroom connect_s 1 1
		;;
	idle)
		row "10,000 idle connections: server RSS KiB per connection" idle rss_per_conn_bytes 1024 1
		row "10,000 idle connections: connected" idle connected 1 0
		;;
	slow)
		row "1 slow consumer among 100 (500 msg/s, 4 KB): fast clients' p99 ms" slow p99_ms 1 2
		row "1 slow consumer: fast clients' lost deliveries" slow lost 1 0
		row "1 slow consumer: server RSS MiB at the end" slow server_rss_bytes 1048576 1
		row "1 slow consumer: disconnected by the server (0/1)" slow slow_closed_by_server 1 0
		;;
	esac
done
row "other processes' CPU during the load runs, cores (noise)" "" other_cpu_share 1 2
echo
jq -rs --arg top "${sweep_rates[-1]}" '[.[] | select(.scenario == "sweep" and .capped) | .server] | unique
	| if length > 0 then "Sweep: \(join(", ")) passed the highest rate tried (\($top) msg/s per room): the real limit is higher." else empty end' "$results"
jq -rs '[.[] | select(.scenario == "sweep" and .client_limited) | .server] | unique
	| if length > 0 then "Sweep: the load client reported itself as a possible limit at the best step of \(join(", ")): that rate may be the client'"'"'s limit, not the server'"'"'s." else empty end' "$results"
jq -rs '[.[] | select(.client_limited and .scenario != "sweep" and (.scenario | startswith("sweep-") | not)) | "\(.scenario)/\(.server) #\(.rep): \(.client_limit_why)"]
	| if length > 0 then "The load client reported itself as a possible limit in: " + join("; ") else empty end' "$results"
echo "Other processes on the machine used up to $(jq -s '[.[] | .other_cpu_share // 0] | max * 100 | floor' "$results")% of a core during a run (the host is shared: repeat when that is high). Raw results: $results"

"$work/benchcharts" -in "$results" -out "$work" >/dev/null
log "charts: $work/deliveries.svg, $work/latency.svg, $work/memory.svg"
if [[ -n $charts ]]; then
	mkdir -p "$charts"
	cp "$work"/*.svg "$charts"/
	log "charts copied into $charts"
fi
echo "Load average and top processes before each scenario: $work/noise.log"
