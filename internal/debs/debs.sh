# debs.sh: sourced by the fetch scripts (internal/corpus/fetch.sh,
# server/internal/testenv/djangos/fetch.sh), which unpack Debian packages
# into a cache without installing them.

# cache_dir DIR: make the cache folder DIR, and print its absolute path (the
# scripts cd elsewhere, and their tests find the cache by it).
cache_dir() {
	mkdir -p "$1"
	(cd "$1" && pwd)
}

# unpack_debs WORK DEST: unpack every .deb that apt downloaded into WORK with
# dpkg-deb -x, list each as "PACKAGE VERSION" in DEST/PACKAGES, and put the
# tree at DEST in place of what was there. The PACKAGES file, written last,
# is what marks DEST complete to the fetch scripts.
unpack_debs() {
	mkdir -p "$1/root"
	for deb in "$1"/*.deb; do
		dpkg-deb -x "$deb" "$1/root"
		dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >>"$1/root/PACKAGES"
	done
	rm -rf "$2"
	mv "$1/root" "$2"
}
