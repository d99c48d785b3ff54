"""django-runserver's debug bootstrap: debugpy in the server process.

The backend runs:  python -Xfrozen_modules=off debug.py shim.py MODE manage.py runserver ADDRESS [args...]

* It starts debugpy listening on a free loopback port (debugpy's adapter
  picks it), and says where on stderr, in the line the backend reads:
  "django-runserver: debugpy adapter listening on HOST:PORT".
* It then waits for a debugger to attach and send configurationDone, so the
  first request after a start or a reload stops at its breakpoint. After
  DJANGO_RUNSERVER_DEBUG_WAIT seconds without one it says so, in a line the
  backend reads too, and serves anyway.
* Then it runs the reloader shim as if Python had run it.
* Without debugpy it explains, and exits with EXIT_NO_DEBUGPY: the backend
  reports it with the command that installs debugpy.
"""
import os
import runpy
import sys
import threading

# The exit status that says this interpreter cannot import debugpy.
EXIT_NO_DEBUGPY = 4


def main():
    try:
        import debugpy
    except ImportError as exc:
        print(f"django-runserver: {sys.executable} cannot import debugpy ({exc})", file=sys.stderr, flush=True)
        sys.exit(EXIT_NO_DEBUGPY)
    host, port = debugpy.listen(("127.0.0.1", 0))
    print(f"django-runserver: debugpy adapter listening on {host}:{port}", file=sys.stderr, flush=True)
    wait = float(os.environ.pop("DJANGO_RUNSERVER_DEBUG_WAIT", "0") or 0)
    if wait > 0:
        expired = threading.Event()

        def give_up():
            expired.set()
            debugpy.wait_for_client.cancel()

        timer = threading.Timer(wait, give_up)
        timer.daemon = True
        timer.start()
        debugpy.wait_for_client()  # returns once the client sent configurationDone
        timer.cancel()
        if expired.is_set():
            print(f"django-runserver: no debugger attached within {wait:g} s", file=sys.stderr, flush=True)
    sys.argv = sys.argv[1:]  # shim.py MODE manage.py ...: what the shim expects
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
