#!/bin/bash
# Runs the public packetdrill suites against this machine's own Linux kernel with the real
# packetdrill, so docs/DRILL.md can show Linux's pass count beside synack's on the same scripts.
#
#   crates/synack-drill/reference/linux-reference.sh [SUITES_DIR] [OUT_DIR]
#
# SUITES_DIR defaults to ../shared/packetdrill-suites (relative to the repository root).
# packetdrill is built from SUITES_DIR/google/gtests/net/packetdrill in a temporary directory
# (needs gcc, make, bison, flex). Every script runs in its own network namespace (`unshare -n`),
# so the sysctls the scripts set and the tun device packetdrill creates stay inside it.
# Needs root; prints "SKIPPED: <reason>" and exits 0 otherwise.
#
# The suites run as their own runners run them:
#   google          gtests/net/packetdrill/run_all.py's IPv4 variant (--send_omit_free, the
#                   192.168/192.0.2 addresses, -D TFO_COOKIE=..., -D CODE=host_unreachable)
#   linux-selftests ksft_runner.sh's IPv4 variant (its addresses and -D TFO_COOKIE(_ZERO)=...)
# FreeBSD's scripts are written for FreeBSD's stack and are not run against Linux.
#
# Output: OUT_DIR/<suite>.txt with one "PASS|FAIL <script>" line per script and a last line
# "<suite>: N passed, M failed" (also printed).
set -u

repo=$(cd "$(dirname "$0")/../../.." && pwd)
suites=${1:-$repo/../shared/packetdrill-suites}
out=${2:-$(mktemp -d /tmp/drill-reference.XXXXXX)}
per_script_timeout=${DRILL_REF_TIMEOUT:-120}

if [ "$(id -u)" != 0 ]; then
	echo "SKIPPED: needs root (network namespaces, tun device, sysctls)"
	exit 0
fi
if [ ! -d "$suites/google/gtests/net/packetdrill" ]; then
	echo "SKIPPED: packetdrill sources not found under $suites"
	exit 0
fi
for tool in gcc make bison flex unshare; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIPPED: $tool not installed"
		exit 0
	fi
done

build=$(mktemp -d /tmp/drill-packetdrill-build.XXXXXX)
trap 'rm -rf "$build"' EXIT
cp -r "$suites/google/gtests/net/packetdrill" "$build/"
if ! (cd "$build/packetdrill" && ./configure >"$build/configure.log" 2>&1 &&
	make -j2 packetdrill >"$build/make.log" 2>&1); then
	echo "packetdrill build failed; log:" >&2
	tail -30 "$build/make.log" >&2
	exit 1
fi
pd="$build/packetdrill/packetdrill"
mkdir -p "$out"
# The scripts run their helpers (defaults.sh, set_sysctls.py) directly, so they must be
# executable; the shared copy may not keep the mode bits. Run from a copy in the temp dir.
mkdir -p "$build/suites/google/gtests/net" "$build/suites/linux-selftests"
cp -r "$suites/google/gtests/net/tcp" "$suites/google/gtests/net/common" "$build/suites/google/gtests/net/"
cp -r "$suites/linux-selftests/tools" "$build/suites/linux-selftests/"
find "$build/suites" \( -name '*.sh' -o -name '*.py' \) -exec chmod +x {} +
# Upstream, tcp/common/defaults.sh is a symlink; the shared copy stores its target as text.
ln -sf ../../common/defaults.sh "$build/suites/google/gtests/net/tcp/common/defaults.sh"

# run_suite NAME DIR: every *.pkt under DIR, each from its own directory (the scripts call
# helpers by relative paths), one at a time (the scripts check timing), with the IPv4 arguments
# in v4_args, or the IPv6 ones in v6_args when the script pins --ip_version=ipv6.
run_suite() {
	local name=$1 dir=$2
	local log="$out/$name.txt" pass=0 fail=0
	: >"$log"
	while IFS= read -r script; do
		local rel=${script#"$dir"/}
		local -a args=("${v4_args[@]}")
		if grep -q '^--ip_version=ipv6' "$script"; then
			args=("${v6_args[@]}")
		fi
		if (cd "$(dirname "$script")" &&
			timeout "$per_script_timeout" unshare -n "$pd" "${args[@]}" "$(basename "$script")" \
				>"$out/last.log" 2>&1); then
			echo "PASS $rel" >>"$log"
			pass=$((pass + 1))
		else
			echo "FAIL $rel: $(grep -m1 -E 'error|assert|timing|expected' "$out/last.log" | cut -c1-160)" >>"$log"
			fail=$((fail + 1))
		fi
	done < <(find "$dir" -name '*.pkt' | sort)
	echo "$name: $pass passed, $fail failed" | tee -a "$log"
}

v6_common=(--ip_version=ipv6 --mtu=1520 --local_ip=fd3d:0a0b:17d6::1
	--gateway_ip=fd3d:0a0b:17d6:8888::1 --remote_ip=fd3d:fa7b:d17d::1
	-D TFO_COOKIE=c1d1e9742a47a9bc -D CMSG_LEVEL_IP=SOL_IPV6 -D CMSG_TYPE_RECVERR=IPV6_RECVERR)
v4_common=(--ip_version=ipv4 --local_ip=192.168.0.1 --gateway_ip=192.168.0.1
	--netmask_ip=255.255.0.0 --remote_ip=192.0.2.1 -D TFO_COOKIE=3021b9d889017eeb
	-D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR)

v4_args=(--send_omit_free "${v4_common[@]}" -D CODE=host_unreachable)
v6_args=(--send_omit_free "${v6_common[@]}")
run_suite google "$build/suites/google/gtests/net/tcp"

v4_args=("${v4_common[@]}" -D TFO_COOKIE_ZERO=b7c12350a90dc8f5)
v6_args=("${v6_common[@]}" -D TFO_COOKIE_ZERO=82af1a8f9a205c34)
run_suite linux-selftests "$build/suites/linux-selftests/tools/testing/selftests/net/packetdrill"

echo "logs in $out"
