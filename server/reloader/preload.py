"""django-runserver's preloader: a warm interpreter that new servers fork from.

The backend runs:  python preload.py SHIM MANAGE_PY WORKSPACE MODULES [LEVEL [debug]]

with the server's environment, plus DJANGO_RUNSERVER_PRELOAD_SOCKET, the
path of a unix socket the backend listens on. LEVEL is "modules" (the
default) or "setup"; the backend keeps one preloader of each. The preloader

* connects to that socket, its only channel to the backend besides stdin
  (end of file: the backend is gone, so exit);
* imports the modules MODULES lists (what the last server imported, one
  "name<TAB>file" a line after a "#settings<TAB>module" line, written by
  the shim) that lie outside WORKSPACE or inside a site-packages folder:
  Django and third-party code, never the project's own, and with
  DJANGO_SETTINGS_MODULE hidden, so nothing that needs the project's
  settings loads here; with "debug" (its children run under the
  debugger), then what the debug bootstrap's debugpy.listen imports
  (DEBUG_IMPORTS), and, once loaded, resolves every module's path as
  pydevd would (_resolve_for_the_debugger);
* at LEVEL "setup", then sets Django up (django.setup(): the settings, the
  apps and their models, which is project code), and imports the listed
  modules that needed it;
* records the state of every file it imported or, while setting up, read,
  of every package folder and sys.path entry, of manage.py (at "setup": it
  chooses the settings), and of the interpreter, and says {"ready": N}, or
  {"ready": N, "unsafe": why, "advice": what the user can change} when
  forking it would not be safe (see _inspect: what a child may share of
  what loading left open, and what it does first to hold what a cold start
  would);
* then serves requests, one JSON object a line:
  {"fork": {"args": [SHIM, MODE, manage.py, ...], "dir": D, "env": [K=V, ...]}}
  comes with at least three file descriptors (SCM_RIGHTS): the new server's
  stdin, stdout and stderr, then those it gets as 3, 4, ... (the listening
  socket and ready pipe of the live browser), as a cold start would. If anything recorded changed, the answer is {"stale": why} and the
  preloader forks no more. Otherwise it forks and answers {"forked": PID};
  the child leads its own process group, takes the descriptors as 0, 1, 2,
  3, ..., takes ENV as its environment, and runs the shim as a cold start
  would, from its main(). On Linux
  the child is the backend's own ({"forked": PID, "sibling": true}), which
  waits for it; elsewhere it is the preloader's, and {"exit": PID,
  "code": C} follows when it ends (-1: a signal).
  {"retire": true} refuses further forks and exits once every child has.
"""
import fcntl
import gc
import itertools
import json
import os
import selectors
import signal
import socket
import stat
import sys
import threading

SOCKET_ENV = "DJANGO_RUNSERVER_PRELOAD_SOCKET"
MAX_FDS = 8
LIST_TIMEOUT = 30  # seconds
# The debug bootstrap, beside the shim: a fork under the debugger runs it.
DEBUG_BOOTSTRAP = "debug.py"
# What debugpy.listen imports: its API and pydevd, a third of a second.
# They start no thread, open nothing, and patch only what debugpy.listen
# would in the child anyway (breakpoint()'s hook).
DEBUG_IMPORTS = ["debugpy.server.api"]


def main():
    shim_path, manage, workspace, modules_file = sys.argv[1:5]
    level = sys.argv[5] if len(sys.argv) > 5 else "modules"
    debug = sys.argv[6:7] == ["debug"]
    # No collection here: it would leave holes in pages the children share.
    # The fork freezes what is loaded by then (see _fork).
    gc.disable()
    inherited = _open_fds()  # a cold start inherits these too
    reserved = _reserve_fds(inherited)
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.connect(os.environ.pop(SOCKET_ENV))
    title = _Title()
    environ = dict(os.environ)
    shim = _load_shim(shim_path)
    sys.argv = [manage]
    sys.path[0] = os.path.dirname(os.path.abspath(manage))
    settings, names = _preloadable(modules_file, workspace)
    if debug:  # last, as a debugged server imports them once it listens
        names += DEBUG_IMPORTS
    _server_only_in()
    origins = _Origins(workspace, (shim_path,))
    imported = _import_all(names, origins)
    unsafe, read = None, []
    if level == "setup":
        unsafe, read = _set_up(settings, origins)
        read.append(os.path.abspath(manage))
        if not unsafe:
            imported += _import_all(names, origins)  # those that needed the settings
            _check_models_ahead()
            _close_databases()
    if debug:
        _resolve_for_the_debugger()
    origins.stop()
    plan = None
    if not unsafe:
        unsafe, plan = _inspect(inherited | set(reserved) | {ctl.fileno()}, origins)
    stamps = _stamps(shim, read)
    reply = {"ready": imported}
    if unsafe:
        reply["unsafe"], reply["advice"] = unsafe
    _send(ctl, reply)
    if plan:
        plan.environ(environ)
    Preloader(ctl, shim, stamps, unsafe and unsafe[0], plan, reserved, title).serve()


# Modules that make an event loop as they load, and install it for the
# whole process: every child would share its epoll (the table above refuses
# it). Daphne's server module makes an asyncio loop and installs Twisted's
# reactor on it; importing Twisted's reactor module installs the default
# one. Neither is imported here: their place holds a _ServerOnly, which
# lets a bare "import daphne.server" load (daphne.apps, in the set-up) and
# fails "from daphne.server import Server" (Daphne's runserver command),
# which is left to the child, with the reactor module, whose import fails
# here. Each child drops them (_server_only_out), and its runserver loads
# them for itself, as a cold start does: Twisted and the rest of Daphne stay
# preloaded.
_SERVER_ONLY = "daphne.server"
_REACTOR = "twisted.internet.reactor"


class _ServerOnly(type(sys)):
    """The place of a module that only a server may load."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError("%s makes its event loop as it loads: only a server loads it" % self.__name__)


class _NoReactor:
    """A finder that refuses Twisted's reactor module."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == _REACTOR:
            raise ImportError("%s installs its reactor as it loads: only a server loads it" % name)
        return None


def _server_only_in():
    sys.modules[_SERVER_ONLY] = _ServerOnly(_SERVER_ONLY)
    sys.meta_path.insert(0, _NoReactor)


def _server_only_out():
    if isinstance(sys.modules.get(_SERVER_ONLY), _ServerOnly):
        del sys.modules[_SERVER_ONLY]
    parent, _, child = _SERVER_ONLY.rpartition(".")
    if isinstance(getattr(sys.modules.get(parent), child, None), _ServerOnly):
        delattr(sys.modules[parent], child)
    if _NoReactor in sys.meta_path:
        sys.meta_path.remove(_NoReactor)


def _load_shim(path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("django_runserver_shim", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _preloadable(modules_file, workspace):
    """The last server's settings module, and the names of the modules to
    import: those it imported that the project's edits don't touch."""
    workspace = os.path.realpath(workspace) + os.sep
    lines = _read_list(modules_file)
    settings, names = "", []
    for line in lines:
        name, _, path = line.partition("\t")
        if name == "#settings":
            settings = path
            continue
        if not name or name == "__main__" or name.startswith(("django_runserver_", "#")):
            continue
        if path and os.path.realpath(path).startswith(workspace) and not _third_party(path):
            continue  # the project's own code: always imported fresh
        names.append(name)
    return settings, names


def _read_list(path):
    """The shim's list of modules. The backend starts the preloader as its
    server starts to serve, and the shim writes the list then: wait for it,
    within LIST_TIMEOUT."""
    import time
    deadline = time.monotonic() + LIST_TIMEOUT
    while True:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            if time.monotonic() > deadline:
                print("django-runserver: the server never listed its modules in %s" % path, file=sys.stderr, flush=True)
                sys.exit(1)
            time.sleep(0.02)


class _Quiet:
    """Output and warnings of the code run here go nowhere: they must not
    reach the backend's log, and a cold start shows them again."""

    def __enter__(self):
        import warnings
        self.devnull = os.open(os.devnull, os.O_WRONLY)
        self.saved = os.dup(1), os.dup(2)
        os.dup2(self.devnull, 1)
        os.dup2(self.devnull, 2)
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self.warnings.__exit__(*exc)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in (self.devnull,) + self.saved:
            os.close(fd)


def _import_all(names, origins):
    """Import each module, in the order the server did. A module that fails
    here (most often one that needs the settings) is left to the child.
    What each import leaves open is put down to it, for a resource the
    audit hook can't place (an epoll, a thread a C extension started)."""
    import importlib
    hidden = os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    count = 0
    try:
        with _Quiet():
            for name in names:
                if name in sys.modules:
                    continue
                before = origins.snapshot()
                try:
                    importlib.import_module(name)
                    count += 1
                except BaseException:  # noqa: B036 - any failure only means "not preloaded"
                    pass
                origins.blame(before, "the import of module %s" % name)
    finally:
        if hidden is not None:
            os.environ["DJANGO_SETTINGS_MODULE"] = hidden
    return count


def _set_up(settings, origins):
    """Set Django up, as the server's manage.py does before its command
    runs. Return why the preloader can't be used and what the user can do
    (a pair), or None, and the files and
    folders the set-up read besides modules (an .env file the settings
    read, a folder an app listed), which are stamped with the modules. A
    child still runs django.setup(), which then finds the apps ready."""
    if not hasattr(sys, "addaudithook"):
        return ("Python 3.8 or newer is needed to see what Django's set-up reads", "Use Python 3.8 or newer."), []
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        if not settings:
            return ("the server named no settings module", "Set DJANGO_SETTINGS_MODULE in manage.py or the environment."), []
        os.environ["DJANGO_SETTINGS_MODULE"] = settings  # as manage.py set it
    read, reading = set(), [False]

    def audit(event, args):
        # Stays installed in every child (a hook can't be removed): it
        # returns at once there.
        if not reading[0]:
            return
        if event == "open":
            path, mode, flags = args
            if mode is not None and any(c in mode for c in "wax+"):
                return
            if mode is None and flags & (os.O_WRONLY | os.O_RDWR):
                return
        elif event not in ("os.listdir", "os.scandir"):
            return
        else:
            path = args[0]
        if isinstance(path, (str, bytes)):
            read.add(os.path.abspath(os.fsdecode(path)))

    def step(who, run):
        """Run one part of the set-up, recording what it reads; put what
        it leaves open, that the audit hook can't place, down to who."""
        before = origins.snapshot()  # not recorded as read
        reading[0] = True
        try:
            run()
        finally:
            reading[0] = False
            origins.blame(before, who)

    sys.addaudithook(audit)
    name = os.environ["DJANGO_SETTINGS_MODULE"]
    try:
        with _Quiet():
            import importlib

            import django
            # The settings first, as Django imports them first: what they
            # open is then told from what the apps open.
            step("the settings module %s" % name, lambda: importlib.import_module(name))
            step("Django's set-up (the apps' models, or a ready())", django.setup)
    except BaseException as e:  # noqa: B036 - the server sets up on its own
        return ("Django's set-up failed in the preloader: %s: %s" % (type(e).__name__, e),
                "A cold start shows the same error, if it is one."), []
    return None, sorted(read)


def _resolve_for_the_debugger():
    """Resolve, as pydevd does, the path of every module file loaded here.
    pydevd resolves the file of each code object it first traces (abspath,
    realpath, case) and keeps the answer for the process's life: done here,
    once, every child inherits the answers, instead of computing them while
    its server starts traced. They depend only on the files, which the
    stamps cover."""
    resolve = getattr(sys.modules.get("pydevd_file_utils"), "get_abs_path_real_path_and_base_from_file", None)
    if resolve is None:
        return  # pydevd not loaded, or another one's insides: each child resolves for itself
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isabs(path):
            try:
                resolve(path)
            except Exception:  # noqa: BLE001 - the child resolves it, as without this
                pass


def _close_databases():
    """Close the database connections the set-up opened (an AppConfig.ready()
    that queries): a connection shared by every child would interleave their
    queries on one socket or file. Django opens a connection again when a
    query needs one, so a child reconnects as a cold start connects."""
    try:
        from django.db import connections
        for conn in connections.all():
            conn.close()
    except Exception:  # noqa: BLE001 - what is still open is inspected next
        pass


def _check_models_ahead():
    """Run Django's model checks here, once, and let every child reuse their
    messages: on a big project they are most of runserver's system checks.
    They depend only on the models and the settings, which this preloader
    loaded and stamps, so a child forked from it has those very classes. A
    child asked about other apps or databases, or whose models differ (one
    defined in a module imported later), runs the checks itself."""
    try:
        from django.apps import apps
        from django.core.checks import model_checks
        from django.core.checks.registry import registry
    except ImportError:
        return
    original = model_checks.check_all_models
    if original not in registry.registered_checks:
        return
    models = list(apps.get_models())
    try:
        with _Quiet():
            messages = list(original(app_configs=None, databases=None))
    except Exception:  # noqa: BLE001 - the child runs them and reports it
        return

    def check_all_models(app_configs=None, **kwargs):
        if app_configs is None and not kwargs.get("databases") and list(apps.get_models()) == models:
            return list(messages)
        return original(app_configs=app_configs, **kwargs)

    check_all_models.tags = original.tags
    registry.registered_checks.discard(original)
    registry.registered_checks.add(check_all_models)


def _threads():
    """The threads of this process, as the kernel counts them where it can:
    a thread a C extension started is as unsafe to fork as one of Python's."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _open_fds():
    """The descriptors open now: not the one the listing itself used, which
    a descriptor opened next would take."""
    for d in ("/proc/self/fd", "/dev/fd"):
        try:
            listed = {int(n) for n in os.listdir(d)}
        except OSError:
            continue
        return {fd for fd in listed if _is_open(fd)}
    return set()


def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _reserve_fds(inherited):
    """Hold the descriptors a forked child takes as 0, 1, 2, 3, ... (up to
    MAX_FDS: its pipes, the live browser's socket and ready pipe), so that
    no file an import opens, which a child keeps, gets one of those
    numbers. /dev/null stands in for them; a child replaces those it
    receives and closes the rest."""
    reserved = []
    try:
        while True:
            fd = os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            if fd >= MAX_FDS:
                os.close(fd)
                break
            reserved.append(fd)
    except OSError:
        pass
    return [fd for fd in reserved if fd not in inherited]


def _third_party(path):
    parts = os.path.realpath(path).split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts


# Where a thread was started, on its Thread object, while modules load.
_SITE = "_django_runserver_started_at"


class _Origins:
    """Where the resources this process holds were opened, in words for the
    user: the innermost frame of the project's code on the stack at the
    time, else of third-party code (never the standard library's or ours).
    The audit hook sees files ("open", "sqlite3.connect") and sockets (at
    "socket.connect" and "socket.bind", once they have a descriptor); a
    wrapper of Thread.start sees threads. What neither sees (an epoll, a
    thread a C extension started) is put down to the import, or the set-up,
    during which it appeared."""

    def __init__(self, workspace, ours):
        import sysconfig
        self.workspace = os.path.realpath(workspace) + os.sep
        self.ours = {os.path.abspath(__file__)} | {os.path.abspath(p) for p in ours}
        paths = sysconfig.get_paths()
        self.stdlib = tuple({os.path.join(paths[k], "") for k in ("stdlib", "platstdlib")})
        self.paths = {}     # real path: where it was last opened
        self.fds = {}       # descriptor: where its socket connected or bound
        self.during = {}    # descriptor: the import or set-up it appeared in
        self.thread_during = []
        self.on = True
        if hasattr(sys, "addaudithook"):
            sys.addaudithook(self._audit)
        self.start = threading.Thread.start
        origins = self

        def start(thread):
            if origins.on:
                setattr(thread, _SITE, origins.site(sys._getframe(1)))
            return origins.start(thread)

        threading.Thread.start = start

    def stop(self):
        """Stop recording (the hook stays, as a hook must: it returns at
        once), and give threading its own start back."""
        self.on = False
        threading.Thread.start = self.start

    def _audit(self, event, args):
        if not self.on:
            return
        if event in ("open", "sqlite3.connect"):
            path = args[0]
            if not isinstance(path, (str, bytes)) or path in (":memory:", b":memory:"):
                return
            frame = sys._getframe(1)
            if frame.f_code.co_filename.startswith("<frozen"):
                return  # the import system, reading a module
            self.paths[os.path.realpath(os.fsdecode(path))] = self.site(frame)
        elif event in ("socket.connect", "socket.bind"):
            try:
                fd = args[0].fileno()
            except (AttributeError, OSError):
                return
            self.fds[fd] = self.site(sys._getframe(1))

    def site(self, frame):
        """Where frame's stack is, for the user: "FILE, line N (module M)"."""
        inner, configuring_logging = None, False
        while frame is not None:
            name = frame.f_code.co_filename
            module = frame.f_globals.get("__name__", "")
            configuring_logging = configuring_logging or module == "logging.config"
            if not (name.startswith("<") or name.startswith(self.stdlib) and not _third_party(name)
                    or os.path.abspath(name) in self.ours):
                real = os.path.realpath(name)
                here = "%s, line %d (module %s)" % (self._shown(real), frame.f_lineno, module)
                if real.startswith(self.workspace) and not _third_party(real):
                    return here  # the project's own code: what the user can change
                inner = inner or (here, module)
            frame = frame.f_back
        if inner and configuring_logging and inner[1].split(".")[0] == "django":
            return "the LOGGING setting of %s" % os.environ.get("DJANGO_SETTINGS_MODULE", "the settings")
        return inner and inner[0]

    def _shown(self, path):
        return path[len(self.workspace):] if path.startswith(self.workspace) else path

    def snapshot(self):
        return _open_fds(), _threads()

    def blame(self, before, who):
        fds, threads = before
        for fd in _open_fds() - fds:
            self.during[fd] = who
        if _threads() > threads:
            self.thread_during.append(who)

    def opened(self, fd, target):
        """Where descriptor fd, whose link reads target, was opened."""
        path = target[:-len(" (deleted)")] if target.endswith(" (deleted)") else target
        return self.fds.get(fd) or self.paths.get(path) or self.during.get(fd) or "an imported module"

    def thread(self):
        """Where the extra thread was started."""
        for t in threading.enumerate():
            if getattr(t, _SITE, None):
                return getattr(t, _SITE)
        return self.thread_during[0] if self.thread_during else "an imported module"


# How much shared memory a child may be given its own copy of.
MAX_SHARED_COPY = 64 << 20


class _ChildPlan:
    """What a forked child does, before the shim runs, so that it holds
    what a cold start would hold: its own open file description of each
    file an import opened (an offset of its own; a file opened for writing
    that the preloader never wrote to starts empty, as the open did), its
    own copy of each self-pipe, and its own copy of shared memory an import
    mapped (multiprocessing's Value and locks), as the preloader left it.
    See the table in docs/design.md."""

    def __init__(self):
        self.reopen = []   # (fd, flags, offset, truncate)
        self.pipes = []    # (read fd, write fd)
        self.maps = []     # (start, size, prot, offset, key, contents)
        self.sizes = {}    # key: size of the file to map from
        self.map_fds = {}  # key: descriptors open on the mapped file
        self.set, self.unset = {}, []  # what loading did to the environment

    def environ(self, before):
        """Record what the imports and the set-up did to the environment (a
        settings module that reads .env, as django-environ's read_env()
        does, sets variables): a child takes the backend's environment,
        then this, as a cold start's set-up would leave it."""
        self.set = {k: v for k, v in os.environ.items() if before.get(k) != v}
        self.unset = [k for k in before if k not in os.environ]

    def apply_environ(self):
        os.environ.update(self.set)
        for k in self.unset:
            os.environ.pop(k, None)

    def apply(self):
        for fd, flags, offset, truncate in self.reopen:
            try:
                new = os.open("/proc/self/fd/%d" % fd, flags | os.O_CLOEXEC)
                if truncate:
                    os.ftruncate(new, 0)
                elif not flags & os.O_APPEND:
                    os.lseek(new, offset, os.SEEK_SET)
            except OSError:
                continue  # it stays shared: what every fork did before
            os.dup2(new, fd, inheritable=os.get_inheritable(fd))
            os.close(new)
        for r, w in self.pipes:
            pair = os.pipe()
            for old, new in zip((r, w), pair):
                inheritable, blocking = os.get_inheritable(old), os.get_blocking(old)
                os.dup2(new, old, inheritable=inheritable)
                os.close(new)
                os.set_blocking(old, blocking)
        if self.maps:
            self._copy_maps()

    def _copy_maps(self):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        MAP_SHARED, MAP_FIXED = 0x01, 0x10
        files = {}
        for start, size, prot, offset, key, contents in self.maps:
            try:
                if key not in files:
                    files[key] = os.memfd_create("django-runserver-copy", os.MFD_CLOEXEC)
                    os.ftruncate(files[key], self.sizes[key])
                fd = files[key]
                os.pwrite(fd, contents, offset)
            except (OSError, AttributeError) as e:
                print("django-runserver: this server shares memory with the others forked from its preloader: %s" % e,
                      file=sys.stderr, flush=True)
                return
            if libc.mmap(start, size, prot, MAP_SHARED | MAP_FIXED, fd, offset) != start:
                print("django-runserver: this server shares memory with the others forked from its preloader: mmap: %s"
                      % os.strerror(ctypes.get_errno()), file=sys.stderr, flush=True)
        for key, fd in files.items():
            for old in self.map_fds.get(key, ()):
                os.dup2(fd, old, inheritable=os.get_inheritable(old))
            os.close(fd)


def _shared_maps():
    """The shared mappings of this process that a cold start would make
    afresh: anonymous ones and those of deleted or memfd files (what
    multiprocessing's Value, Array and locks map). Those of a file still on
    disk are left alone: a cold start maps the same file. Linux only."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return found
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6 or parts[1][3] != "s":
            continue
        path = parts[5].strip()
        if path.startswith("/SYSV") or not (path.endswith(" (deleted)") or path.startswith("/memfd:")):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        found.append((start, end - start, parts[1], int(parts[2], 16), (parts[3], int(parts[4])), path))
    return found


def _refused(what, advice):
    return (what, advice), None


def _inspect(expected, origins):
    """Whether forking this process is safe, resource by resource (the
    table in docs/design.md): (None, the plan each child follows), or
    ((why not, what the user can change), None). expected are the
    descriptors no import opened."""
    if _threads() != 1:
        if threading.active_count() == 1:  # no thread of Python's: a C library started it
            return _refused("%s started a thread from a C library it loads" % origins.thread(),
                            "A forked server would run without that thread, and another thread can hold a lock at the fork. "
                            "OpenBLAS (loaded by numpy, scipy or GDAL) starts its threads as it loads: "
                            "OPENBLAS_NUM_THREADS=1 in the server's environment keeps it to one.")
        return _refused("%s started a thread" % origins.thread(),
                        "A forked server would run without that thread, and another thread can hold a lock at the fork. "
                        "Start it on first use (in a request or a management command) rather than at import.")
    plan, pipes, written = _ChildPlan(), {}, False
    shared = {}  # mapped file's key: descriptors open on it
    for fd in sorted(_open_fds() - expected - {0, 1, 2}):
        try:
            st = os.fstat(fd)
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue  # closed since the listing
        try:
            target = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            target = "descriptor %d" % fd
        where = origins.opened(fd, target)
        if stat.S_ISCHR(st.st_mode):
            continue  # /dev/null, /dev/urandom: nothing a child could share
        if stat.S_ISREG(st.st_mode) and (target.endswith(" (deleted)") or target.startswith("/memfd:")):
            shared.setdefault((_dev(st), st.st_ino), []).append(fd)  # mapped, copied below; else a temporary file
            continue
        if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            offset = os.lseek(fd, 0, os.SEEK_CUR)
            access = flags & os.O_ACCMODE
            if access == os.O_RDONLY or flags & os.O_APPEND:
                plan.reopen.append((fd, flags, offset, False))
                written = written or access != os.O_RDONLY
                continue
            if offset == 0 and st.st_size == 0:
                plan.reopen.append((fd, flags, 0, True))
                written = True
                continue
            return _refused("%s keeps %s open for writing, and wrote to it" % (where, target),
                            "Every forked server would write over the others' output. Open it for appending "
                            "(mode 'a'), or on first use.")
        if stat.S_ISFIFO(st.st_mode):
            pipes.setdefault(target, []).append((fd, flags & os.O_ACCMODE, where))
            continue
        if stat.S_ISSOCK(st.st_mode):
            return _refused("%s keeps a socket open (%s)" % (where, _socket_name(fd, target)),
                            "Every forked server would share that one connection. Connect on first use "
                            "(in a request), not at import, in the settings or in ready().")
        return _refused("%s keeps %s open" % (where, _ANON_INODES.get(target, target)),
                        "An event loop or notifier made at import would be shared by every forked server. "
                        "Create it on first use, or in the command that needs it.")
    for target, ends in pipes.items():
        modes = sorted(mode for _, mode, _ in ends)
        if modes != [os.O_RDONLY, os.O_WRONLY]:
            return _refused("%s keeps a pipe to another process open (%s)" % (ends[0][2], target),
                            "Every forked server would share it with that process. Start the process, "
                            "and open the pipe, on first use.")
        plan.pipes.append(tuple(fd for fd, _, _ in sorted(ends, key=lambda e: e[1])))
    why = _plan_maps(plan, shared)
    if why:
        return why, None
    if written:
        _flush_writers()
    return None, plan


# What the kernel's names of descriptors without a file are, for the user.
_ANON_INODES = {
    "anon_inode:[eventpoll]": "an epoll instance (an event loop's poller, such as Twisted's reactor)",
    "anon_inode:[eventfd]": "an eventfd (an event loop's waker)",
    "anon_inode:[timerfd]": "a timerfd",
    "anon_inode:[signalfd]": "a signalfd",
    "anon_inode:inotify": "an inotify instance (a file watcher)",
}


def _dev(st):
    return "%02x:%02x" % (os.major(st.st_dev), os.minor(st.st_dev))


def _socket_name(fd, target):
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError:
        return target
    try:
        peer = s.getpeername()
        return "connected to %s" % (peer if isinstance(peer, str) else "%s:%s" % peer[:2])
    except OSError:
        try:
            return "bound to %s" % (s.getsockname(),)
        except OSError:
            return target
    finally:
        s.close()


def _plan_maps(plan, shared):
    """Plan a copy of each shared mapping a cold start would make afresh,
    as it is now; or say why not."""
    maps, total = _shared_maps(), 0
    for start, size, perms, offset, key, path in maps:
        total += size
        if total > MAX_SHARED_COPY or perms[0] != "r":
            return ("an imported module shares %s (%d MiB of memory) with every process forked from this one" % (path, total >> 20),
                    "Create the shared memory on first use, not at import.")
    import ctypes
    for start, size, perms, offset, key, path in maps:
        prot = (1 if "r" in perms else 0) | (2 if "w" in perms else 0) | (4 if "x" in perms else 0)
        plan.maps.append((start, size, prot, offset, key, ctypes.string_at(start, size)))
        plan.sizes[key] = max(plan.sizes.get(key, 0), offset + size)
        plan.map_fds[key] = shared.pop(key, [])
    for key, fds in shared.items():
        # A deleted file open, and not mapped: a temporary file that a fork
        # shares as any file opened for writing.
        plan.reopen.extend((fd, fcntl.fcntl(fd, fcntl.F_GETFL), os.lseek(fd, 0, os.SEEK_CUR), False) for fd in fds)
    return None


def _flush_writers():
    """Flush every open Python file that writes, once, before any fork: a
    buffered line would otherwise be written again by every child. The
    parked preloader writes nothing more."""
    import io
    for obj in gc.get_objects():
        if isinstance(obj, io.IOBase):
            try:
                if not obj.closed and obj.writable():
                    obj.flush()
            except (OSError, ValueError):
                pass


class _Title:
    """The command line of this process as ps shows it, where Linux allows:
    the memory of the original argv (/proc/self/stat's arg_start and
    arg_end), which a forked server overwrites with the command a cold
    start shows, "python manage.py runserver ...", and not the
    preloader's. The environment that follows is left alone, so a title
    longer than the preloader's command line is cut."""

    def __init__(self):
        self.area = None
        if not sys.platform.startswith("linux"):
            return
        try:
            with open("/proc/self/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            self.area = int(fields[45]), int(fields[46])  # fields 48 and 49, counted from 1 with pid and comm
        except (OSError, IndexError, ValueError):
            return
        self.python = (getattr(sys, "orig_argv", None) or [sys.executable])[0]

    def set(self, args):
        if not self.area:
            return
        start, end = self.area
        size = end - start
        data = b"\0".join(os.fsencode(a) for a in [self.python] + list(args))[:size - 1]
        try:
            import ctypes
            ctypes.memmove(start, data + b"\0" * (size - len(data)), size)
        except (ImportError, OSError, ValueError):
            pass


def _stat(path):
    """A file's state: its times, size and inode. A folder's is the names
    in it that an import or Django could find, whatever its times: an editor
    that saves through a temporary file changes those, and no name."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat.S_ISDIR(st.st_mode):
        try:
            names = os.listdir(path)
        except OSError:
            return None
        return ("dir", st.st_ino, hash(frozenset(n for n in names if _findable(n))))
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)


def _findable(name):
    """Whether a folder entry is one an import (a module, package, .pth
    file) or a package's metadata may be found by."""
    return "." not in name or name.endswith((".py", ".pyc", ".so", ".pyd", ".pth", ".dist-info", ".egg-info", ".egg-link"))


def _stamps(shim, extra):
    """The state of everything imported code came from: module files, found
    as the shim finds them (a settings module that overwrote its __file__
    too), package folders (a new module in one may shadow nothing yet, but
    is found by a later import), sys.path entries and their .pth files, the
    interpreter, and extra paths."""
    paths = {sys.executable, os.path.realpath(sys.executable)}
    paths.update(extra)
    for entry in sys.path:
        entry = entry or os.getcwd()
        paths.add(entry)
        try:
            paths.update(os.path.join(entry, n) for n in os.listdir(entry) if n.endswith(".pth"))
        except OSError:
            pass
    for name, module in list(sys.modules.items()):
        origin = shim.module_origin(name, module)
        if origin is not None:
            paths.add(origin)
        for d in getattr(module, "__path__", None) or ():
            if isinstance(d, str):
                paths.add(d)
    return {p: _stat(p) for p in paths}


def _changed(stamps):
    for path, stamp in stamps.items():
        if _stat(path) != stamp:
            return path
    return None


# clone(2) numbers, where the preloader can fork a sibling.
_CLONE = {"x86_64": 56, "aarch64": 220}
_CLONE_PARENT = 0x8000


def _fork_sibling():
    """Fork, and return (pid, sibling) as os.fork returns pid. On Linux the
    child is the preloader's sibling, the backend's own child (clone with
    CLONE_PARENT): the backend waits for it and reads its exit status from
    the kernel, whatever becomes of the preloader. Python's own fork hooks
    run around it, as os.fork runs them. Elsewhere, a plain fork: the
    preloader reaps the child and reports its exit."""
    number = _CLONE.get(os.uname().machine) if sys.platform.startswith("linux") else None
    try:
        import ctypes
    except ImportError:  # a Python built without it
        number = None
    if number is None:
        return os.fork(), False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = libc.syscall(ctypes.c_long(number), ctypes.c_long(_CLONE_PARENT | signal.SIGCHLD),
                       ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0, True
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(ctypes.get_errno(), "clone: " + os.strerror(ctypes.get_errno()))
    return pid, True


def _send(ctl, obj):
    ctl.sendall(json.dumps(obj).encode() + b"\n")


def _exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return -1


class Preloader:
    def __init__(self, ctl, shim, stamps, unsafe, plan, reserved, title):
        self.ctl, self.shim, self.stamps, self.unsafe = ctl, shim, stamps, unsafe
        self.plan, self.reserved, self.title = plan, reserved, title
        self.stale = ""
        self.children = set()
        self.retiring = False
        self.pending = b""
        self.fds = []
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self.wake_w)
        self.selector = selectors.DefaultSelector()
        self.selector.register(ctl, selectors.EVENT_READ, self._control)
        self.selector.register(0, selectors.EVENT_READ, self._stdin)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._reap)

    def serve(self):
        while True:
            for key, _ in self.selector.select():
                key.data()
            if self.retiring and not self.children:
                os._exit(0)

    def _stdin(self):
        if not os.read(0, 4096):  # the backend is gone
            os._exit(0)

    def _control(self):
        data, ancdata, _, _ = self.ctl.recvmsg(65536, socket.CMSG_SPACE(MAX_FDS * 4))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % 4
                self.fds.extend(int.from_bytes(payload[i:i + 4], sys.byteorder) for i in range(0, usable, 4))
        if not data:
            os._exit(0)
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            message = json.loads(line)
            if "fork" in message:
                fds, self.fds = self.fds, []
                self._fork(message["fork"], fds)
            elif message.get("retire"):
                self.retiring = True

    def _fork(self, request, fds):
        try:
            why = self._refusal(fds)
            if why:
                _send(self.ctl, why)
                return
            sys.stdout.flush()
            sys.stderr.flush()
            # What the preloader loaded lives as long as the child: out of
            # reach of the child's collections, which would otherwise walk
            # all of it, writing to every page (copy-on-write), hundreds of
            # milliseconds into its start.
            gc.freeze()
            preloader, backend = os.getpid(), os.getppid()
            try:
                pid, sibling = _fork_sibling()
            except OSError as e:
                _send(self.ctl, {"error": "the fork failed: %s" % e})
                return
            if pid == 0:
                # Killed with its parent, as the backend asks for every
                # process it starts itself.
                self._child(request, fds, backend if sibling else preloader)  # never returns
            if not sibling:
                try:
                    os.setpgid(pid, pid)  # as the child does: whichever runs first
                except OSError:
                    pass
                self.children.add(pid)
            _send(self.ctl, {"forked": pid, "sibling": sibling})
        finally:
            for fd in fds:
                os.close(fd)

    def _refusal(self, fds):
        if self.retiring:
            return {"stale": "the preloader is being replaced"}
        if len(fds) < 3:
            return {"error": "a fork needs at least 3 descriptors, got %d" % len(fds)}
        if self.unsafe:
            return {"stale": self.unsafe}
        if not self.stale:
            path = _changed(self.stamps)
            if path:
                self.stale = "%s changed since the preloader imported it" % path
        if self.stale:
            return {"stale": self.stale}
        threads = _threads()
        if threads != 1:  # never fork with another thread: it could hold any lock
            return {"stale": "the preloader has %d threads" % threads}
        return None

    def _child(self, request, fds, parent):
        try:
            os.setpgid(0, 0)
            gc.enable()
            self.shim.die_with_parent(parent)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.selector.close()
            self.ctl.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            # Out of the way first: a received descriptor may have the
            # number another one is to take.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64 + MAX_FDS) for fd in fds]
            for fd in fds:
                os.close(fd)
            for target, fd in enumerate(high):
                os.dup2(fd, target)  # inheritable, as a cold start's are
                os.close(fd)
            for fd in self.reserved:
                if fd >= len(high):
                    os.close(fd)
            self.plan.apply()
            # Interpreter options (the debugger's) are the preloader's own.
            args = list(itertools.dropwhile(lambda a: a.startswith("-"), request["args"]))
            bootstrap = os.path.basename(args[0]) == DEBUG_BOOTSTRAP
            self.title.set(args[3 if bootstrap else 2:])  # manage.py runserver ADDRESS ...
            if "env" in request:
                os.environ.clear()
                os.environ.update(kv.split("=", 1) for kv in request["env"] if "=" in kv)
                self.plan.apply_environ()
            if "random" in sys.modules:
                sys.modules["random"].seed()  # also done at fork by random itself, since 3.7
            os.chdir(request["dir"])
            _server_only_out()
            if bootstrap:  # under the debugger: debug.py, then the shim's argv
                self.shim.load_beside("django_runserver_debug", DEBUG_BOOTSTRAP).main_in_fork(self.shim, args[1:])
            else:
                sys.argv = args
                self.shim.main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=sys.stderr)
        except BaseException:  # noqa: B036 - report it as Python would, then exit
            sys.excepthook(*sys.exc_info())
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)

    def _reap(self):
        try:
            os.read(self.wake_r, 4096)
        except BlockingIOError:
            pass
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            if pid == 0:
                break
            self.children.discard(pid)
            _send(self.ctl, {"exit": pid, "code": _exit_code(status)})


if __name__ == "__main__":
    main()
