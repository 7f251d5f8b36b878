#!/bin/sh
# Native routing or Lua (LuaJIT): instructions per routed message, counted
# by callgrind (repeatable whatever else the machine does). Routes N1 and N2
# OPTIONS through bench/native/policy.cfg and through the same policy in
# Lua (bench/lua-choice/policy.lua, loaded by bench/native/lua.cfg with
# the same modules), with one worker, and prints for each
#   message: (Ir(N2) - Ir(N1)) / (N2 - N1), the whole message (receive,
#            parse, route, reply), start-up cost cancelled out;
#   route:   the same difference for the engine's run function alone
#            (inclusive cost of nv_run / lua_run: the route execution).
# BUILD=dir uses an existing build instead of building one.
set -e
cd "$(dirname "$0")/../.."
N1=${N1:-1000}
N2=${N2:-3000}
OUT=${OUT:-/tmp/osprey-native-bench}
mkdir -p "$OUT"
if [ -z "$BUILD" ]; then
	BUILD="$OUT/build"
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j "$(nproc)" --target osprey >/dev/null
fi
measure() { # script n port -> "total route"
	cg="$OUT/cg.$3"
	valgrind --tool=callgrind --callgrind-out-file="$cg" "$BUILD/osprey" \
		-f "$1" -l "udp:127.0.0.1:$3" -n 1 -r "$OUT/ctl.$3" \
		>"$OUT/log.$3" 2>&1 &
	vp=$!
	for i in $(seq 1 150); do
		grep -q ready "$OUT/log.$3" && break
		sleep 0.2
	done
	sipp -sf bench/lua-choice/opt.xml "127.0.0.1:$3" -m "$2" -r 400 \
		-timeout 120 -timeout_error >"$OUT/sipp.$3" 2>&1
	kill -TERM $vp
	wait $vp || true
	total=$(sed -n 's/^summary: //p' "$cg")
	route=$(callgrind_annotate --inclusive=yes "$cg" 2>/dev/null |
		grep -E ' \*?[^ ]*:(nv_run|lua_run) ' | head -1 |
		awk '{gsub(",", "", $1); print $1}')
	echo "$total ${route:-0}"
}
port=36100
for pair in "native bench/native/policy.cfg" "lua bench/native/lua.cfg"; do
	set -- $pair
	a=$(measure "$2" "$N1" $port)
	b=$(measure "$2" "$N2" $((port + 1)))
	port=$((port + 2))
	ta=${a% *}; ra=${a#* }; tb=${b% *}; rb=${b#* }
	echo "$1: $(( (tb - ta) / (N2 - N1) )) instructions per message," \
		"$(( (rb - ra) / (N2 - N1) )) in the route"
done
