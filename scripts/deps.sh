#!/usr/bin/env bash
# Installs every Debian and npm package that building, running and testing
# rollcall needs. A fast no-op when everything is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

debs=(
	build-essential pkg-config
	libevent-dev libpq-dev libjansson-dev libinih-dev libsodium-dev
	libjwt-dev libcurl4-openssl-dev libssl-dev libopencv-dev opencv-data
	libcmocka-dev clang libclang-rt-14-dev
	postgresql postgresql-contrib
	python3-pytest python3-requests python3-aiosmtpd python3-pil
	prometheus wrk curl
)
command -v node >/dev/null 2>&1 || debs+=(nodejs npm)

missing=()
for p in "${debs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "deps: run as root (or install: ${missing[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts a default cluster; rollcall uses its own (scripts/pg.sh).
	if command -v pg_lsclusters >/dev/null; then
		pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
			pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
		done
	fi
fi

# npm packages of the tests (jose for JWKS checks), from tests/package-lock.json.
if [ -f "$root/tests/package.json" ] &&
	{ [ ! -d "$root/tests/node_modules" ] ||
	  [ "$root/tests/package-lock.json" -nt "$root/tests/node_modules" ]; }; then
	echo "deps: npm ci in tests/"
	(cd "$root/tests" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	touch "$root/tests/node_modules"
fi
