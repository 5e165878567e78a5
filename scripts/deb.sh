#!/usr/bin/env bash
# make deb: bin/rollcall_<version>_<arch>.deb with Debian's own tools.
#   scripts/deb.sh [BIN]   (VERSION in the environment, default 0.1.0)
#
# dpkg-deb from a staged `make install`, not dpkg-buildpackage/debhelper:
# the layout is written once, in scripts/install.sh, and the package is
# exactly what `make install PREFIX=/usr` lays out; debhelper would need a
# debian/ source tree whose rules call that same install anyway, and
# dpkg-buildpackage rebuilds (and cleans) the whole tree, where this packs
# the binary `make` already built in seconds. Debian's tools still do the
# parts that need knowing: dpkg-shlibdeps the Depends on the shared
# libraries, dpkg-deb the archive; lintian checks the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
umask 022

bin=${1:-bin/rollcall}
version=${VERSION:-0.1.0}
arch=$(dpkg --print-architecture)
work=obj/deb
stage=$work/root
out=bin/rollcall_${version}_${arch}.deb

rm -rf "$work"
mkdir -p "$stage/DEBIAN" "$work/src/debian"
PREFIX=/usr DESTDIR=$PWD/$stage SYSCONFDIR=/etc UNITDIR=/lib/systemd/system \
	SYSUSERSDIR=/usr/lib/sysusers.d TMPFILESDIR=/usr/lib/tmpfiles.d \
	BIN=$bin scripts/install.sh install >/dev/null
# Debug symbols stay in bin/rollcall; the package carries the code.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$stage/usr/bin/rollcall"

doc=$stage/usr/share/doc/rollcall
install -d "$doc"
install -m 0644 pkg/debian/copyright "$doc/copyright"
install -m 0644 README.md "$doc/README.md"
install -D -m 0644 pkg/debian/lintian-overrides \
	"$stage/usr/share/lintian/overrides/rollcall"
{
	echo "rollcall ($version) unstable; urgency=medium"
	echo
	echo "  * Built from git $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo
	echo " -- rollcall maintainers <maintainers@users.noreply.r-seed-291e5ba4.example>  $(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# The shared libraries' packages, as dpkg-shlibdeps finds them (it wants a
# debian/control naming the package beside it).
printf 'Source: rollcall\n\nPackage: rollcall\nArchitecture: any\n' \
	>"$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O "$root/$stage/usr/bin/rollcall" |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
	-e "s|@DEPENDS@|$depends|" pkg/debian/control.in >"$stage/DEBIAN/control"
echo /etc/rollcall/rollcall.conf >"$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "pkg/debian/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" \
	"$stage/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
