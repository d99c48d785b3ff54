// Package winsmoke runs the Windows build of the backend under Wine, as a
// smoke test of what cross-compiling alone can't show: its lifecycle, its
// interpreter check, its port probe, and its Job Object taking every process
// down with it. `make test-wine` installs Wine and MinGW, builds prng/ (the
// ProcessPrng that Wine 8.0 lacks and Go 1.22+ needs), and runs the test;
// without DJANGO_RUNSERVER_WINE it skips.
package winsmoke
