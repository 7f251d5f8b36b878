#!/bin/sh
# The cost of routing in Python (docs/engine-python.md), three ways:
#
# 1. Instructions per routed message, counted by callgrind (repeatable
#    whatever else the machine does): OPTIONS routed N1 and N2 times through
#    bench/python/policy.py with the GIL released in KSR calls (default) and
#    held through the route (modparam release_gil 0), and through
#    bench/lua-choice/policy.lua (the same policy in Lua), one worker;
#    (Ir(N2) - Ir(N1)) / (N2 - N1) removes the start-up cost.
# 2. From the same callgrind runs, the instructions per message executed
#    with the GIL held (gil_share.py), hence the ceiling of the rate any
#    number of workers can reach.
# 3. Wall clock: closed-loop OPTIONS load from blast.c (32 sockets, so
#    SO_REUSEPORT spreads them over the workers) with -n 1 and -n 2, R runs
#    each, interleaved; the median rate and the median server CPU time per
#    message. These depend on the machine and on what else runs on it: the
#    generator shares the cores with the server.
set -e
cd "$(dirname "$0")/../.."
N1=${N1:-1000}
N2=${N2:-3000}
M=${M:-100000}
R=${R:-5}
OUT=${OUT:-/tmp/osprey-python-bench}
mkdir -p "$OUT"
cmake -S . -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$OUT/build" -j "$(nproc)" --target osprey >/dev/null
cc -O2 -o "$OUT/blast" bench/python/blast.c
BIN="$OUT/build/osprey"
# the policy with modparam("app_python3", "release_gil", 0)
cat >"$OUT/hold.cfg" <<EOF
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "sanity.so"
loadmodule "kemix.so"
loadmodule "siputils.so"
loadmodule "app_python3.so"
modparam("app_python3", "load", "$(pwd)/bench/python/policy.py")
modparam("app_python3", "release_gil", 0)
cfgengine "python"
EOF

wait_ready() { # log
	for i in $(seq 1 300); do
		grep -q " ready: " "$1" && return 0
		sleep 0.1
	done
	echo "server did not start, see $1" >&2
	return 1
}

callgrind() { # script n port
	valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$3" \
		"$BIN" -f "$1" -l "udp:127.0.0.1:$3" -n 1 -r "$OUT/ctl.$3" \
		>"$OUT/log.$3" 2>&1 &
	vp=$!
	wait_ready "$OUT/log.$3"
	sipp -sf bench/lua-choice/opt.xml "127.0.0.1:$3" -i 127.0.0.1 \
		-p $(($3 + 500)) -mp $(($3 + 600)) -m "$2" -r 400 \
		-timeout 120 -timeout_error >"$OUT/sipp.$3" 2>&1
	kill -TERM $vp
	wait $vp || true
	sed -n 's/^summary: //p' "$OUT/cg.$3"
}

# "rate cpu_us_per_message" for one run
load() { # script workers port
	"$BIN" -f "$1" -l "udp:127.0.0.1:$3" -n "$2" \
		-r "$OUT/ctl.$3" >"$OUT/tp.$3" 2>&1 &
	sp=$!
	wait_ready "$OUT/tp.$3"
	"$OUT/blast" 127.0.0.1 "$3" 2000 8 2 >/dev/null # warm-up
	c0=$(awk '{ print $14 + $15 }' /proc/$sp/stat)
	rate=$("$OUT/blast" 127.0.0.1 "$3" "$M" 32 4 |
		sed -n 's/.*: \([0-9]*\)\/s.*/\1/p')
	c1=$(awk '{ print $14 + $15 }' /proc/$sp/stat)
	kill -TERM $sp
	wait $sp || true
	awk -v r="$rate" -v a="$c0" -v b="$c1" -v m="$M" \
		-v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%d %.1f\n", r, (b - a) / hz * 1e6 / m }'
}

median() { # values...
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

port=37600
for mode in release hold lua; do
	case $mode in
	release) s=bench/python/policy.py ;;
	hold) s="$OUT/hold.cfg" ;;
	lua) s=bench/lua-choice/policy.lua ;;
	esac
	a=$(callgrind "$s" "$N1" $port)
	b=$(callgrind "$s" "$N2" $((port + 1)))
	echo "$mode: $(( (b - a) / (N2 - N1) )) instructions per message"
	if [ $mode != lua ]; then
		python3 bench/python/gil_share.py "$OUT/cg.$port" \
			"$OUT/cg.$((port + 1))" "$N1" "$N2" \
			"$([ $mode = hold ] && echo hold)"
	fi
	port=$((port + 2))
done

port=37700
: >"$OUT/load.txt"
for run in $(seq 1 "$R"); do
	for w in 1 2; do
		for mode in release hold lua; do
			case $mode in
			release) s=bench/python/policy.py ;;
			hold) s="$OUT/hold.cfg" ;;
			lua) s=bench/lua-choice/policy.lua ;;
			esac
			port=$((port + 1))
			echo "$w $mode $(load "$s" "$w" $port)" >>"$OUT/load.txt"
		done
	done
done
for w in 1 2; do
	for mode in release hold lua; do
		rates=$(awk -v w=$w -v m=$mode '$1 == w && $2 == m { print $3 }' \
			"$OUT/load.txt")
		cpus=$(awk -v w=$w -v m=$mode '$1 == w && $2 == m { print $4 }' \
			"$OUT/load.txt")
		echo "-n $w $mode: median $(median $rates) OPTIONS/s," \
			"$(median $cpus) us of server CPU per message"
	done
done
