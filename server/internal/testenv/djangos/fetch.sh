#!/bin/sh
# fetch.sh CACHE: put each Django release named in versions.txt into
# CACHE/django-X.Y/usr/lib/python3/dist-packages, ready for PYTHONPATH.
#
# Debian packages Django, asgiref and sqlparse as architecture-independent
# Python, so a release from a newer suite unpacks and runs on this machine's
# Python without touching the system's own Django. apt works on a private
# state inside CACHE (its own sources list, package lists and archives), and
# the mirror is the one this machine's apt already uses. A release already
# unpacked is kept, so a warm run costs nothing.
#
# Checked on 2026-11-25: trixie carries python3-django 4.2 LTS and sid 5.2
# LTS. When a suite moves on, fetch.sh stops with the version it found; name
# a suite that still carries the release (trixie-backports, testing) in
# versions.txt.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../../../internal/debs/debs.sh"
cache=$(cache_dir "${1:?usage: fetch.sh CACHE}")

# The machine's Debian mirror: the first URI of a source that serves the
# main archive (not -security), in deb822 or one-line format.
mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) print $i; break } }' "$f"
	done
}
url=$(mirror | head -n 1)
if [ -z "$url" ]; then
	echo "fetch.sh: found no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d; add one (e.g. deb.debian.org) and run again" >&2
	exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# apt on the private state of one suite.
papt() {
	suite=$1
	shift
	state=$cache/apt/$suite
	"$@" -q \
		-o Dir::State="$state/state" \
		-o Dir::State::status=/var/lib/dpkg/status \
		-o Dir::Cache="$state/cache" \
		-o Dir::Etc::SourceList="$state/sources.list" \
		-o Dir::Etc::SourceParts=- \
		-o Dir::Etc::Preferences=- \
		-o Dir::Etc::PreferencesParts="$state/empty" \
		-o APT::Sandbox::User=root \
		-o Acquire::Languages=none
}

grep -v '^#' "$here/versions.txt" | while read -r version suite; do
	[ -n "$version" ] || continue
	dest=$cache/django-$version
	if [ -f "$dest/PACKAGES" ]; then
		echo "Django $version: present ($(paste -sd' ' "$dest/PACKAGES"))"
		continue
	fi
	state=$cache/apt/$suite
	mkdir -p "$state/empty" "$state/state/lists/partial" "$state/cache/archives/partial"
	echo "deb [signed-by=$keyring] $url $suite main" >"$state/sources.list"
	echo "Django $version: fetching from $suite ($url)"
	papt "$suite" apt-get update >/dev/null
	candidate=$(papt "$suite" apt-cache policy python3-django | awk '$1 == "Candidate:" { print $2 }')
	case $candidate in
	"$version".* | *:"$version".*) ;;
	*)
		echo "fetch.sh: $suite now carries python3-django $candidate, not Django $version; name a suite that still has $version in $here/versions.txt" >&2
		exit 1
		;;
	esac
	work=$(mktemp -d "$cache/.fetch-$version.XXXXXX")
	(cd "$work" && papt "$suite" apt-get download python3-django python3-asgiref python3-sqlparse >/dev/null)
	unpack_debs "$work" "$dest"
	# The package lists served this fetch only: a warm run never reads them.
	rm -rf "$work" "$state"
	echo "Django $version: $(paste -sd' ' "$dest/PACKAGES")"
done
rmdir "$cache/apt" 2>/dev/null || true
