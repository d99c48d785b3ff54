"""django-runserver's preloader: a warm interpreter that new servers fork from.

The backend runs:  python preload.py SHIM MANAGE_PY WORKSPACE MODULES [LEVEL]

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
  settings loads here;
* at LEVEL "setup", then sets Django up (django.setup(): the settings, the
  apps and their models, which is project code), and imports the listed
  modules that needed it;
* records the state of every file it imported or, while setting up, read,
  of every package folder and sys.path entry, of manage.py (at "setup": it
  chooses the settings), and of the interpreter, and says {"ready": N}, or
  {"ready": N, "unsafe": why} when forking it would not be safe;
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


def main():
    shim_path, manage, workspace, modules_file = sys.argv[1:5]
    level = sys.argv[5] if len(sys.argv) > 5 else "modules"
    # No collection here: it would leave holes in pages the children share.
    # The fork freezes what is loaded by then (see _fork).
    gc.disable()
    inherited = _open_fds()  # a cold start inherits these too
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.connect(os.environ.pop(SOCKET_ENV))
    shim = _load_shim(shim_path)
    sys.argv = [manage]
    sys.path[0] = os.path.dirname(os.path.abspath(manage))
    settings, names = _preloadable(modules_file, workspace)
    imported = _import_all(names)
    unsafe, read = "", []
    if level == "setup":
        unsafe, read = _set_up(settings)
        read.append(os.path.abspath(manage))
        if not unsafe:
            imported += _import_all(names)  # those that needed the settings
            _check_models_ahead()
    unsafe = unsafe or _unsafe(inherited | {ctl.fileno()})
    stamps = _stamps(shim, read)
    reply = {"ready": imported}
    if unsafe:
        reply["unsafe"] = unsafe
    _send(ctl, reply)
    Preloader(ctl, shim, stamps, unsafe).serve()


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
        if path:
            real = os.path.realpath(path)
            third_party = "site-packages" in real.split(os.sep) or "dist-packages" in real.split(os.sep)
            if real.startswith(workspace) and not third_party:
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


def _import_all(names):
    """Import each module, in the order the server did. A module that fails
    here (most often one that needs the settings) is left to the child."""
    import importlib
    hidden = os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    count = 0
    try:
        with _Quiet():
            for name in names:
                if name in sys.modules:
                    continue
                try:
                    importlib.import_module(name)
                    count += 1
                except BaseException:  # noqa: B036 - any failure only means "not preloaded"
                    pass
    finally:
        if hidden is not None:
            os.environ["DJANGO_SETTINGS_MODULE"] = hidden
    return count


def _set_up(settings):
    """Set Django up, as the server's manage.py does before its command
    runs. Return why the preloader can't be used, or "", and the files and
    folders the set-up read besides modules (an .env file the settings
    read, a folder an app listed), which are stamped with the modules. A
    child still runs django.setup(), which then finds the apps ready."""
    if not hasattr(sys, "addaudithook"):
        return "Python 3.8 or newer is needed to see what Django's set-up reads", []
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        if not settings:
            return "the server named no settings module", []
        os.environ["DJANGO_SETTINGS_MODULE"] = settings  # as manage.py set it
    read, reading = set(), [True]

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

    sys.addaudithook(audit)
    try:
        with _Quiet():
            import django
            django.setup()
    except BaseException as e:  # noqa: B036 - the server sets up on its own
        return "Django's set-up failed in the preloader: %s: %s" % (type(e).__name__, e), []
    finally:
        reading[0] = False
    return "", sorted(read)


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
    for d in ("/proc/self/fd", "/dev/fd"):
        try:
            return {int(n) for n in os.listdir(d)}
        except OSError:
            continue
    return set()


def _unsafe(expected):
    """Why a fork of this process would not be safe, or "": another thread,
    or a file or socket an import left open, which every child would share.
    expected are the descriptors that are no import's doing."""
    threads = _threads()
    if threads != 1:
        return "an imported module started a thread (%d threads)" % threads
    listing = _open_fds()
    for fd in sorted(listing - expected - {0, 1, 2}):
        try:
            target = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            target = "descriptor %d" % fd
        try:
            os.fstat(fd)
        except OSError:
            continue  # the listing's own descriptor, closed by now
        return "an imported module keeps %s open" % target
    return ""


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


def _die_with_backend():
    """Ask Linux to kill this forked server when its parent, the backend,
    dies, as the backend asks for every process it starts itself. (Its
    stdin's end does the same everywhere, once the shim reads it.)"""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the backend died before the call
        os._exit(1)


def _send(ctl, obj):
    ctl.sendall(json.dumps(obj).encode() + b"\n")


def _exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return -1


class Preloader:
    def __init__(self, ctl, shim, stamps, unsafe):
        self.ctl, self.shim, self.stamps, self.unsafe = ctl, shim, stamps, unsafe
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
            try:
                pid, sibling = _fork_sibling()
            except OSError as e:
                _send(self.ctl, {"error": "the fork failed: %s" % e})
                return
            if pid == 0:
                self._child(request, fds)  # never returns
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

    def _child(self, request, fds):
        try:
            os.setpgid(0, 0)
            gc.enable()
            _die_with_backend()
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
            if "env" in request:
                os.environ.clear()
                os.environ.update(kv.split("=", 1) for kv in request["env"] if "=" in kv)
            if "random" in sys.modules:
                sys.modules["random"].seed()  # also done at fork by random itself, since 3.7
            os.chdir(request["dir"])
            sys.argv = list(request["args"])
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
