// Package corpus is the acceptance suite on real projects no one here
// wrote, from Debian bookworm (testenv.Mailman, testenv.Graphite; `make
// corpus` installs them): Mailman 3's web UI starts, reloads a view warm
// with Django set up ahead, serves a template edit without a restart, shows
// a SyntaxError and serves its fix, loses no request through reloads, and
// leaves the backend idle after start; graphite-web's settings, which
// overwrite their own __file__, reload when edited. They run on Debian's
// Python and Django 3.2, which these packages need.
package corpus
