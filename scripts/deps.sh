#!/usr/bin/env bash
# Installs every Debian and npm package that building, running and testing
# rollcall needs. A fast no-op when everything is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

debs=(
	build-essential pkg-config
	libevent-dev libpq-dev libjansson-dev libinih-dev libsodium-dev
	libjwt-dev libcurl4-openssl-dev libssl-dev libopencv-dev opencv-data
	libcmocka-dev libsystemd-dev
	dpkg-dev lintian
	# clang + its runtime: make fuzz (libFuzzer)
	clang libclang-rt-14-dev
	postgresql postgresql-contrib
	# pg_dump / pg_restore, run by `rollcall backup` and `restore`.
	postgresql-client
	python3-pytest python3-requests python3-aiosmtpd python3-pil
	prometheus wrk curl jq
	chromium
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

# npm packages from committed lock files, each a no-op when up to date:
# tests/ (jose for JWKS checks) and vendor/face/ (the face models that
# face.models_dir points at: @vladmandic/face-api's model/ folder).
npm_ci() {
	local dir=$root/$1
	[ -f "$dir/package.json" ] || return 0
	if [ ! -d "$dir/node_modules" ] ||
		[ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
		echo "deps: npm ci in $1/"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
		touch "$dir/node_modules"
	fi
}
npm_ci tests
npm_ci vendor/face
# vendor/app/: the browser app's libraries, served at /vendor/.
npm_ci vendor/app
