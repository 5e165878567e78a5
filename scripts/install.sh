#!/usr/bin/env bash
# make install / make uninstall: lays rollcall out as a system service.
#   scripts/install.sh install|uninstall|list|conf
# The Makefile passes the places (PREFIX, DESTDIR, BINDIR, DATADIR,
# SYSCONFDIR, UNITDIR, SYSUSERSDIR, TMPFILESDIR, STATEDIR) in the
# environment. One list of what goes where (plan) serves both install and
# uninstall, so uninstall removes exactly what install put there. Nothing
# is fetched: the face models and the app's libraries come from the
# node_modules folders `make deps` filled (npm ci from the lock files).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Modes come from the list below, not from the caller's umask.
umask 022

: "${PREFIX:=/usr/local}" "${DESTDIR:=}"
: "${BINDIR:=$PREFIX/bin}" "${DATADIR:=$PREFIX/share/rollcall}"
: "${SYSCONFDIR:=/etc}" "${UNITDIR:=$PREFIX/lib/systemd/system}"
: "${SYSUSERSDIR:=$PREFIX/lib/sysusers.d}"
: "${TMPFILESDIR:=$PREFIX/lib/tmpfiles.d}" "${STATEDIR:=/var/lib/rollcall}"
: "${BIN:=bin/rollcall}"
confdir=$SYSCONFDIR/rollcall
models=vendor/face/node_modules/@vladmandic/face-api
appvendor=vendor/app/node_modules

# The weights the matcher loads (src/face/nets_tfjs.cpp): detector,
# landmarks, descriptor; face-api's other nets are not used.
model_files() {
	local f
	for f in tiny_face_detector_model face_landmark_68_model \
		face_recognition_model; do
		echo "$models/model/$f-weights_manifest.json"
		echo "$models/model/$f.bin"
	done
}

# What /vendor/ serves (server.vendor_dir: .js .mjs .css .map) and each
# package's licence and package.json (its version, for the admin).
app_vendor_files() {
	find "$appvendor" -mindepth 2 -type f \( -name '*.js' -o -name '*.mjs' \
		-o -name '*.css' -o -name '*.map' -o -name 'LICENSE*' \
		-o -name 'package.json' \) -not -path '*/.bin/*' | LC_ALL=C sort
}

# "MODE SOURCE DEST" per file; SOURCE "-" is made by this script.
plan() {
	local f
	echo "0755 $BIN $BINDIR/rollcall"
	for f in sql/*.sql; do echo "0644 $f $DATADIR/$f"; done
	find static -type f | LC_ALL=C sort | while read -r f; do
		echo "0644 $f $DATADIR/$f"
	done
	echo "0644 conf/common-passwords.txt $DATADIR/conf/common-passwords.txt"
	# The installed config as shipped, to diff against or start over from.
	echo "0644 - $DATADIR/conf/rollcall.conf"
	model_files | while read -r f; do
		echo "0644 $f $DATADIR/face/model/${f##*/}"
	done
	echo "0644 $models/LICENSE $DATADIR/face/LICENSE"
	app_vendor_files | while read -r f; do
		echo "0644 $f $DATADIR/vendor/app/${f#"$appvendor"/}"
	done
	for f in systemd/*.service systemd/*.timer; do
		echo "0644 $f $UNITDIR/${f##*/}"
	done
	echo "0644 - $SYSUSERSDIR/rollcall.conf"
	echo "0644 - $TMPFILESDIR/rollcall.conf"
}

# conf/rollcall.conf with every path at an installed place: shared data
# under DATADIR, state under STATEDIR, no url_file (db.url is set here).
install_conf() {
	cat <<EOF
; rollcall's configuration, as \`make install\` or the Debian package put
; it: set [db] url to your PostgreSQL (e.g.
; postgresql://rollcall:SECRET@localhost/rollcall), and server.public_url.
; Read by rollcall.service and every \`rollcall --config $confdir/rollcall.conf ...\`.
; The shipped copy: $DATADIR/conf/rollcall.conf

EOF
	sed -e "s|^static_dir = .*|static_dir = $DATADIR/static|" \
	    -e "s|^vendor_dir = .*|vendor_dir = $DATADIR/vendor/app|" \
	    -e "s|^url_file = .*|url_file =|" \
	    -e "s|^migrations_dir = .*|migrations_dir = $DATADIR/sql|" \
	    -e "s|^keys_dir = .*|keys_dir = $STATEDIR/keys|" \
	    -e "s|^common_passwords = .*|common_passwords = $DATADIR/conf/common-passwords.txt|" \
	    -e "s|^spool_dir = .*|spool_dir = $STATEDIR/mail|" \
	    -e "/^\[store\]/,/^\[/s|^dir = .*|dir = $STATEDIR/blobs|" \
	    -e "/^\[backup\]/,/^\[/s|^dir = .*|dir = $STATEDIR/backups|" \
	    -e "s|^models_dir = .*|models_dir = $DATADIR/face/model|" \
	    conf/rollcall.conf
}

sysusers_conf() {
	cat <<EOF
# The rollcall service's user (sysusers.d(5)); no login, home = its state.
u rollcall - "rollcall attendance server" $STATEDIR /usr/sbin/nologin
EOF
}

tmpfiles_conf() {
	cat <<EOF
# rollcall's state (tmpfiles.d(5)): signing keys, pictures, the mail
# spool and monthly exports, readable by the service user only; the config
# readable by root and the service's group (it holds the database URL).
d $STATEDIR 0700 rollcall rollcall -
d $STATEDIR/keys 0700 rollcall rollcall -
d $STATEDIR/blobs 0700 rollcall rollcall -
d $STATEDIR/backups 0700 rollcall rollcall -
d $STATEDIR/mail 0700 rollcall rollcall -
d $STATEDIR/exports 0700 rollcall rollcall -
d /var/log/rollcall 0750 rollcall rollcall -
d $confdir 0750 root rollcall -
z $confdir/rollcall.conf 0640 root rollcall -
EOF
}

# Units name the /usr/local places; an install elsewhere rewrites them.
unit() {
	sed -e "s|/usr/local/bin/rollcall|$BINDIR/rollcall|g" \
	    -e "s|/usr/local/share/rollcall|$DATADIR|g" \
	    -e "s|/etc/rollcall|$confdir|g" \
	    -e "s|/var/lib/rollcall|$STATEDIR|g" "$1"
}

made() {
	case $1 in
	"$DATADIR/conf/rollcall.conf") install_conf ;;
	"$SYSUSERSDIR/rollcall.conf") sysusers_conf ;;
	"$TMPFILESDIR/rollcall.conf") tmpfiles_conf ;;
	esac
}

check_sources() {
	local missing=0 mode src dest
	while read -r mode src dest; do
		if [ "$src" != - ] && [ ! -f "$src" ]; then
			echo "install: $src is missing (make; make deps)" >&2
			missing=1
		fi
	done < <(plan)
	return $missing
}

do_install() {
	local mode src dest conf
	check_sources
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	while read -r mode src dest; do
		case $src in
		-) made "$dest" >"$tmp"; src=$tmp ;;
		systemd/*) unit "$src" >"$tmp"; src=$tmp ;;
		esac
		install -D -m "$mode" "$src" "$DESTDIR$dest"
	done < <(plan)
	# The admin's config: 0640, never overwritten.
	conf=$DESTDIR$confdir/rollcall.conf
	install -d -m 0750 "$DESTDIR$confdir"
	if [ -e "$conf" ]; then
		echo "install: $confdir/rollcall.conf kept (the shipped one is $DATADIR/conf/rollcall.conf)"
	else
		install -m 0640 "$DESTDIR$DATADIR/conf/rollcall.conf" "$conf"
	fi
	[ -n "$DESTDIR" ] || activate
}

# Installing onto this system (no DESTDIR): the user, the state folders
# and the config's group now rather than at the next boot.
activate() {
	[ "$(id -u)" = 0 ] || return 0
	if command -v systemd-sysusers >/dev/null; then
		systemd-sysusers "$SYSUSERSDIR/rollcall.conf"
		systemd-tmpfiles --create "$TMPFILESDIR/rollcall.conf"
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
	echo "install: done; set [db] url in $confdir/rollcall.conf, then systemctl enable --now rollcall"
}

# Removes what plan lists and rollcall's folders left empty; the admin's
# config only while it is the one install put there; never the state or
# the user.
do_uninstall() {
	local mode src dest conf=$DESTDIR$confdir/rollcall.conf
	local shipped=$DESTDIR$DATADIR/conf/rollcall.conf
	if [ -f "$conf" ] && [ -f "$shipped" ] && cmp -s "$conf" "$shipped"; then
		rm -f "$conf"
	elif [ -f "$conf" ]; then
		echo "uninstall: $confdir/rollcall.conf kept (changed since install)"
	fi
	rmdir "$DESTDIR$confdir" 2>/dev/null || true
	while read -r mode src dest; do
		rm -f "$DESTDIR$dest"
	done < <(plan)
	# Folders left empty, rollcall's own only (DATADIR's): the shared ones
	# (bin/, the systemd folders) may have been there, empty, before.
	plan | while read -r mode src dest; do
		dirname "$dest"
	done | LC_ALL=C sort -ru | while read -r d; do
		while [ "${d#"$DATADIR"}" != "$d" ] && rmdir "$DESTDIR$d" 2>/dev/null; do
			d=$(dirname "$d")
		done
	done
	if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
}

case ${1:-} in
install) do_install ;;
uninstall) do_uninstall ;;
list) plan | awk '{ print $3 }' ;;
conf) install_conf ;;
*) echo "usage: scripts/install.sh install|uninstall|list|conf" >&2; exit 2 ;;
esac
