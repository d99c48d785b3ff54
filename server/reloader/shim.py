"""django-runserver's bridge into Django's own autoreloader.

The backend runs:  python shim.py MODE manage.py runserver ADDRESS [args...]

* In every mode, stdin belongs to the backend. When it reaches end of file
  the backend is gone, so this process takes its whole process group down:
  a dev server never outlives the editor.
* In "fast" mode (with RUN_MAIN=true, so runserver serves in this very
  process), Django's get_reloader() returns StdinReloader. Its tick() waits
  for changed paths that the backend writes to stdin, one per line, and hands
  the ones Django watches to notify_file_changed(). Django then does what it
  always does: template and locale receivers reset their caches and swallow
  the event; any other watched file ends the process with exit code 3, and
  the backend starts a fresh one.
* In "django" mode, Django's reloader restarts a child that serves. The
  child runs through this file too, and dies with its parent however the
  parent dies: Django kills it only when its SIGTERM handler runs to the end.
* When the server thread dies before serving (an import error, a failed
  system check), the traceback is already on stderr; exit 1 so the backend
  can report it and wait for the next change.
* An interrupt (the backend's stop, or Ctrl-C) ends the process at once,
  with the shell's status for it, 130.
* In every mode, an exception a request raises is also reported on stderr as
  one line, REQUEST_ERROR and JSON, with what Django's own log lacks: the
  template's file and line. The backend turns it into a diagnostic.
"""
import os
import signal
import sys

# Exit statuses, and the variable naming where the server's imports are
# listed: declared in Go, in server/contract, which the reloader's
# TestContract keeps equal to these.
# A process ended by an interrupt, as a shell reports it (128 + SIGINT): a
# stop the interrupt ended, told from one the kill ended.
EXIT_INTERRUPTED = 130
EXIT_SERVER_DIED = 1  # before serving: the traceback is on stderr
EXIT_RELOAD = 3  # a watched module changed: start a new process
MODULES_ENV = "DJANGO_RUNSERVER_MODULES"
# Names Django's reloader to the child it starts, in "django" mode. Between
# the two Python processes only, so not in the contract.
_RELOADER_ENV = "DJANGO_RUNSERVER_RELOADER_PID"
# Starts the stderr line that reports an exception a request raised; the rest
# of the line is JSON (contract.RequestError).
REQUEST_ERROR = "django-runserver: request error: "
_MAX_FRAMES = 64  # the deepest ones: the project's frames are near the end
_MAX_MESSAGE = 2000


def _interrupted(signum, frame):
    """Exit now. Python's own handler raises KeyboardInterrupt in whatever the
    main thread runs at that moment, and that is not always code that lets it
    through: a weakref callback or __del__ reports it as "Exception ignored"
    and carries on. Right after the first request (the backend's readiness
    probe) the garbage collector, running on the main thread, frees the
    finished request thread, and threading's WeakSet of threads drops it in
    such a callback. The main thread then waits for the next change, forever,
    and the backend's stop waited out its kill fallback. A dev server has
    nothing to save, so leave without unwinding."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)


# First, before anything else can run Python code in the main thread.
signal.signal(signal.SIGINT, _interrupted)
if hasattr(signal, "SIGBREAK"):  # Windows: the backend stops with CTRL_BREAK_EVENT
    signal.signal(signal.SIGBREAK, _interrupted)

import queue  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

_EOF = object()
_SERVER_DIED = object()
_SERVING = object()  # an empty line: the backend saw the server accept connections


def main():
    mode = sys.argv[1]
    sys.argv = sys.argv[2:]  # manage.py runserver ADDRESS ...: what manage.py expects
    manage = os.path.abspath(sys.argv[0])
    sys.path[0] = os.path.dirname(manage)
    changes = queue.Queue()
    threading.Thread(target=_read_stdin, args=(changes,), name="django-runserver-stdin", daemon=True).start()
    if mode == "fast" and not _install_reloader(changes):
        print("django-runserver: this Django has no reloader API (it needs Django 2.2 or newer); "
              "using Django's own reloader instead. Set djangoRunserver.reload to \"django\" to silence this.",
              file=sys.stderr, flush=True)
        os.environ.pop("RUN_MAIN", None)
    if mode == "fast" and os.environ.get("RUN_MAIN") == "true":  # the browser's side: live.py, beside this file
        load_beside("django_runserver_live", "live.py").install(sys.modules[__name__])
    if mode == "django":
        reloader = os.environ.pop(_RELOADER_ENV, "")
        if os.environ.get("RUN_MAIN") == "true" and reloader.isdigit():
            die_with_parent(int(reloader))
        else:
            _start_children_through_shim(mode)
    _report_request_errors()
    import runpy
    runpy.run_path(manage, run_name="__main__")


def load_beside(name, filename):
    """The module in filename, beside this file, as name."""
    from importlib import util
    spec = util.spec_from_file_location(name, os.path.join(os.path.dirname(os.path.abspath(__file__)), filename))
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read_stdin(changes):
    # os.read, not sys.stdin: a daemon thread blocked inside the buffered
    # reader holds its lock, and Python aborts at exit waiting for it.
    pending = b""
    while True:
        try:
            chunk = os.read(0, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            path = os.fsdecode(line.rstrip(b"\r"))
            changes.put(path if path else _SERVING)
    changes.put(_EOF)
    _exit_tree()


def _start_children_through_shim(mode):
    """Make Django's reloader start its serving child through this file, as
    python shim.py MODE manage.py ..., so that the child dies with it.

    Django's reloader ends its child from its SIGTERM handler, the signal
    the backend's death sends it: the handler raises SystemExit, and
    subprocess.run kills the child on the way out. A second SIGTERM raised
    inside that kill ends the reloader before the kill is sent (a backend's
    threads die one by one, and each death may signal), and the reloader's
    own stdin watch never gets to take the group down. The child then
    served on, alone."""
    try:
        from django.utils import autoreload
        original = autoreload.get_child_arguments
    except (ImportError, AttributeError):  # before Django 2.2: its reloader's SIGTERM alone
        return

    def get_child_arguments():
        args = original()
        tail = len(sys.argv)
        if args[-tail:] != sys.argv:  # started some other way (python -m, an .exe): leave it
            return args
        return args[:-tail] + [os.path.abspath(__file__), mode] + args[-tail:]

    autoreload.get_child_arguments = get_child_arguments
    os.environ[_RELOADER_ENV] = str(os.getpid())


def _report_request_errors():
    """Report every exception a request raises (Django's got_request_exception)
    on stderr, for the backend. Django's own log has the traceback, but not
    the template line an error in a template comes from."""
    try:
        from django.core import signals
        signals.got_request_exception.connect(_request_failed, weak=False,
                                              dispatch_uid="django-runserver-request-error")
    except Exception:  # noqa: BLE001 - no Django to import here: manage.py says so itself
        pass


def _request_failed(sender, request=None, **kwargs):
    """got_request_exception's receiver: it runs inside the request's except
    block, so sys.exc_info() is the exception. It never raises: a report
    must not change the response."""
    try:
        typ, exc, tb = sys.exc_info()
        if exc is None:
            return
        import json
        import traceback
        frames = traceback.extract_tb(tb)[-_MAX_FRAMES:]
        report = {
            "method": str(getattr(request, "method", "") or ""),
            "path": str(getattr(request, "path", "") or ""),
            "exception": _exception_name(typ),
            "message": str(exc)[:_MAX_MESSAGE],
            "frames": [{"file": f.filename, "line": f.lineno or 0, "func": f.name} for f in frames],
        }
        spot = getattr(exc, "template_debug", None)  # set by Django's templates when debug is on
        if isinstance(spot, dict) and isinstance(spot.get("name"), str) and isinstance(spot.get("line"), int):
            report["template"] = {"file": spot["name"], "line": spot["line"]}
        # One write of one line: Django's log lines, from other threads, go
        # between lines, never inside one.
        sys.stderr.write(REQUEST_ERROR + json.dumps(report) + "\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - whatever happens, the request goes on as Django decides
        pass


def _exception_name(typ):
    """The exception's type as a traceback prints it: qualified, unless
    built in."""
    module = getattr(typ, "__module__", None)
    name = getattr(typ, "__qualname__", None) or getattr(typ, "__name__", "Exception")
    return name if module in (None, "builtins", "__main__") else module + "." + name


def die_with_parent(parent):
    """Ask Linux to kill this process when parent, its parent, dies; exit
    now if it already has. Elsewhere the end of stdin does the same, once
    this file's stdin watch reads it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the call, and no one waits for this status
        os._exit(0)


def _exit_tree():
    """The backend is gone: end this process and everything it started."""
    sys.stderr.flush()
    if hasattr(os, "killpg") and os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(0)


def _install_reloader(changes):
    try:
        from django.utils import autoreload
        base = autoreload.BaseReloader
    except (ImportError, AttributeError):
        return False

    class StdinReloader(base):
        """A Django reloader whose changes come from the backend's watcher."""

        def run(self, django_main_thread):
            threading.Thread(target=self._await_server, args=(django_main_thread,),
                             name="django-runserver-server-watch", daemon=True).start()
            super().run(django_main_thread)

        @staticmethod
        def _await_server(thread):
            thread.join()
            changes.put(_SERVER_DIED)

        def tick(self):
            while True:
                batch = [changes.get()]
                while True:  # take every path already queued, to look up the watched files once
                    try:
                        batch.append(changes.get_nowait())
                    except queue.Empty:
                        break
                paths = []
                for item in batch:
                    if item is _EOF:
                        _exit_tree()
                    if item is _SERVER_DIED:
                        sys.stderr.flush()
                        os._exit(EXIT_SERVER_DIED)
                    if item is _SERVING:
                        # List the watched modules now, while idle: not during
                        # start-up, where it would compete for the GIL, nor when
                        # a change waits for the answer.
                        self._files()
                        _list_modules()
                        continue
                    paths.append(item)
                watched = self._watched(paths)
                for path in watched:
                    self.notify_file_changed(path)  # a module never returns: exit 3
                # Templates and locale files (Django reset its caches) and
                # static files (served from disk) are served as they are now.
                seen = set(watched)
                for path in watched + served_static(p for p in paths if _resolve(Path(p)) not in seen):
                    print("%s changed, served without a restart." % path, file=sys.stderr, flush=True)
                yield

        def _watched(self, paths):
            """The paths Django watches: template and locale folders first (a
            cheap prefix test), then the module files that _files keeps."""
            globs = [(_resolve(d), patterns) for d, patterns in self.directory_globs.items()]
            files = None
            found = []
            for raw in paths:
                path = _resolve(Path(raw))
                if not any(_glob_match(path, d, patterns) for d, patterns in globs):
                    files = self._files() if files is None else files
                    if path not in files:
                        continue
                found.append(path)
            return found

        def _files(self):
            """The module files Django watches, resolved. Django rebuilds its
            list whenever a module is imported, which a first request often
            does; here only the new modules are looked at."""
            if not hasattr(self, "_module_files"):
                self._module_files, self._seen = set(), set()
            for name, module in _modules():
                if name in self._seen:
                    continue
                self._seen.add(name)
                origin = module_origin(name, module)
                if origin is not None:
                    self._module_files.add(_resolve(origin))
            if not hasattr(self, "_settings_file"):
                settings = settings_origin()
                self._settings_file = {_resolve(settings)} if settings else set()
            extra = {_resolve(p) for p in list(self.extra_files) + list(autoreload._error_files)}
            return self._module_files | self._settings_file | extra

        @classmethod
        def check_availability(cls):
            return True

    def trigger_reload(filename):
        # Django's own says the same and calls sys.exit(3), which finalizes the
        # whole interpreter first: tens of milliseconds, hundreds on a big
        # project, all spent before the backend can start the new server.
        autoreload.logger.info("%s changed, reloading.", filename)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_RELOAD)

    # runserver's banner names the reloader's class: "Watching for file
    # changes with django-runserver" tells a user what watches their files.
    StdinReloader.__name__ = StdinReloader.__qualname__ = "django-runserver"
    autoreload.get_reloader = StdinReloader
    autoreload.trigger_reload = trigger_reload
    return True


def _list_modules():
    """Write what this server imported, one "name<TAB>file" a line, after a
    "#settings<TAB>module" line, where the backend asked for it
    (MODULES_ENV): its preloaders import the same."""
    path = os.environ.get(MODULES_ENV)
    if not path:
        return
    # First the settings module manage.py chose (its os.environ.setdefault
    # is in no module), for a preloader that sets Django up.
    lines = ["#settings\t" + os.environ.get("DJANGO_SETTINGS_MODULE", "")]
    for name, module in _modules():
        lines.append(name + "\t" + (module_origin(name, module) or ""))
    try:
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)
    except OSError:
        pass  # no list, no preloader: every reload starts cold


def module_origin(name, module):
    """The file the module sys.modules holds as name was loaded from, or
    None. Its __spec__ says so, unless the module's own code replaced it: a
    settings module that ends with
    globals().update(import_module('local_settings').__dict__), as
    graphite-web's does, takes the other module's __spec__ and __file__,
    and would never be watched. A spec named otherwise is looked up again,
    as the import found it."""
    spec = getattr(module, "__spec__", None)
    if spec is not None and spec.name != name and name != "__main__":
        found = find_origin(name)
        if found is not None:
            return found
    origin = spec.origin if spec is not None and spec.has_location else getattr(module, "__file__", None)
    return origin if isinstance(origin, str) else None


def settings_origin():
    """The file DJANGO_SETTINGS_MODULE names, whatever the module says of
    itself: the settings are always watched."""
    name = os.environ.get("DJANGO_SETTINGS_MODULE")
    return find_origin(name) if name else None


def find_origin(name):
    """Where the import system finds the module name on its path now, or
    None: PathFinder, not importlib.util.find_spec, which answers with the
    __spec__ of a module already imported."""
    from importlib.machinery import PathFinder
    parent, _, _ = name.rpartition(".")
    path = None
    if parent:
        path = getattr(sys.modules.get(parent), "__path__", None)
        if path is None:
            return None  # not a submodule of a package (os.path), or the package is gone
    try:
        spec = PathFinder.find_spec(name, path)
    except (ImportError, ValueError, AttributeError, TypeError):
        return None
    if spec is None or not spec.has_location or not isinstance(spec.origin, str):
        return None
    return spec.origin


_static_roots = None


def static_roots():
    """The folders Django's staticfiles finders serve from, once set up."""
    global _static_roots
    if _static_roots is None:
        _static_roots = []
        try:
            from django.contrib.staticfiles import finders
            for finder in finders.get_finders():
                _static_roots += [os.path.realpath(root) for _, root in getattr(finder, "locations", [])]
                _static_roots += [os.path.realpath(s.location) for s in getattr(finder, "storages", {}).values()]
        except Exception:  # noqa: BLE001 - no staticfiles app, or settings it can't read
            pass
    return _static_roots


def served_static(paths):
    """Those of paths that staticfiles serves, in order."""
    roots = static_roots()
    return sorted(p for p in paths if any(os.path.realpath(p).startswith(root + os.sep) for root in roots))


def _modules():
    """sys.modules's items. A request thread that imports while they are
    copied makes the copy fail; copy again."""
    while True:
        try:
            return list(sys.modules.items())
        except RuntimeError:
            continue


def _resolve(path):
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _glob_match(path, directory, patterns):
    """Whether Path.glob(pattern) under directory would yield path."""
    try:
        rel = path.relative_to(directory)
    except ValueError:
        return False
    for pattern in patterns:
        if pattern.startswith("**/"):
            if rel.match(pattern[3:]):
                return True
        elif len(rel.parts) == len(Path(pattern).parts) and rel.match(pattern):
            return True
    return False


if __name__ == "__main__":
    main()
