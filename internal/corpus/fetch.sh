#!/bin/sh
# fetch.sh CACHE: unpack each Debian package named in packages.txt into
# CACHE/PACKAGE-VERSION, with dpkg-deb -x: the projects of the corpus, never
# installed (mailman3-web would pull in uwsgi and a web server, and start
# services). What they import is installed by `make corpus` with apt. A
# package already unpacked is kept, so a warm run costs nothing; the tests
# keep their migrated databases beside it.
#
# apt-get download takes the version this machine's apt knows: when the
# suite moves on, fetch.sh stops with the version it found; name it in
# packages.txt once the corpus tests pass on it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../debs/debs.sh"
cache=$(cache_dir "${1:?usage: fetch.sh CACHE}")

grep -v '^#' "$here/packages.txt" | while read -r package version; do
	[ -n "$package" ] || continue
	dest=$cache/$package-$version
	if [ -f "$dest/PACKAGES" ]; then
		echo "$package $version: present"
		continue
	fi
	candidate=$(apt-cache policy "$package" | awk '$1 == "Candidate:" { print $2 }')
	if [ "$candidate" != "$version" ]; then
		echo "fetch.sh: apt offers $package ${candidate:-(none)}, not $version; run apt-get update, or name the version apt has in $here/packages.txt" >&2
		exit 1
	fi
	work=$(mktemp -d "$cache/.fetch-$package.XXXXXX")
	# As root, apt hands the download to its _apt user, who can't write here.
	(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$package=$version" >/dev/null)
	unpack_debs "$work" "$dest"
	rm -rf "$work"
	echo "$package $version: unpacked into $dest"
done
