#!/bin/sh
# Lua 5.4 or LuaJIT: instructions per routed message, counted by callgrind
# (repeatable whatever else the machine does). Builds both variants, routes
# N1 and N2 OPTIONS through bench/lua-choice/policy.lua with one worker, and
# prints (Ir(N2) - Ir(N1)) / (N2 - N1) for each: start-up cost cancels out.
set -e
cd "$(dirname "$0")/../.."
N1=${N1:-1000}
N2=${N2:-3000}
OUT=${OUT:-/tmp/osprey-lua-choice}
mkdir -p "$OUT"
for lua in luajit lua5.4; do
	cmake -S . -B "$OUT/build-$lua" -DCMAKE_BUILD_TYPE=Release \
		-DOSP_LUA=$lua >/dev/null
	cmake --build "$OUT/build-$lua" -j "$(nproc)" --target osprey >/dev/null
done
measure() { # bin n port
	cg="$OUT/cg.$3"
	valgrind --tool=callgrind --callgrind-out-file="$cg" "$1" \
		-f bench/lua-choice/policy.lua -l "udp:127.0.0.1:$3" -n 1 \
		-r "$OUT/ctl.$3" >"$OUT/log.$3" 2>&1 &
	vp=$!
	for i in $(seq 1 150); do
		grep -q " ready: " "$OUT/log.$3" && break
		sleep 0.2
	done
	sipp -sf bench/lua-choice/opt.xml "127.0.0.1:$3" -m "$2" -r 400 \
		-timeout 120 -timeout_error >"$OUT/sipp.$3" 2>&1
	kill -TERM $vp
	wait $vp || true
	sed -n 's/^summary: //p' "$cg"
}
port=36000
for lua in luajit lua5.4; do
	a=$(measure "$OUT/build-$lua/osprey" "$N1" $port)
	b=$(measure "$OUT/build-$lua/osprey" "$N2" $((port + 1)))
	port=$((port + 2))
	echo "$lua: $(( (b - a) / (N2 - N1) )) instructions per message"
done
