#!/bin/sh
# JavaScript (Duktape) next to Lua (LuaJIT, the default build):
# instructions per routed message, counted by callgrind (repeatable whatever
# else the machine does). Builds once, routes N1 and N2 OPTIONS through
# bench/lua-choice/policy.lua and through its JavaScript copy
# bench/js/policy.js with one worker, and prints
# (Ir(N2) - Ir(N1)) / (M2 - M1) for each, where M is the number of
# answered calls: start-up cost cancels out. sipp's rate is lower than in
# bench/lua-choice so that the server under valgrind keeps up.
set -e
cd "$(dirname "$0")/../.."
N1=${N1:-1000}
N2=${N2:-3000}
OUT=${OUT:-/tmp/osprey-bench-js}
mkdir -p "$OUT"
cmake -S . -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$OUT/build" -j "$(nproc)" --target osprey >/dev/null
measure() { # script n port
	cg="$OUT/cg.$3"
	valgrind --tool=callgrind --callgrind-out-file="$cg" \
		"$OUT/build/osprey" -f "$1" -l "udp:127.0.0.1:$3" -n 1 \
		-r "$OUT/ctl.$3" >"$OUT/log.$3" 2>&1 &
	vp=$!
	for i in $(seq 1 150); do
		grep -q ready "$OUT/log.$3" && break
		sleep 0.2
	done
	# warm-up (the same in both runs): valgrind translates the code
	# paths on first use, slowly enough to lose the first datagrams
	sipp -sf bench/lua-choice/opt.xml "127.0.0.1:$3" -m 20 -r 10 \
		-timeout 30 -recv_timeout 5000 >/dev/null 2>&1 || true
	sipp -sf bench/lua-choice/opt.xml "127.0.0.1:$3" -m "$2" -r 200 \
		-timeout 120 -recv_timeout 5000 >"$OUT/sipp.$3" 2>&1 || true
	kill -TERM $vp
	wait $vp || true
	# "<instructions> <answered calls>"
	echo "$(sed -n 's/^summary: //p' "$cg") $(awk -F'|' \
		'/Successful call/ { gsub(/ /, "", $3); print $3 }' \
		"$OUT/sipp.$3")"
}
port=36100
for script in bench/lua-choice/policy.lua bench/js/policy.js; do
	set -- $(measure "$script" "$N1" $port)
	a=$1 ma=$2
	set -- $(measure "$script" "$N2" $((port + 1)))
	b=$1 mb=$2
	port=$((port + 2))
	echo "$script: $(( (b - a) / (mb - ma) )) instructions per message" \
		"($ma and $mb calls answered)"
done
