"""django-runserver's preloader: a warm interpreter that new servers fork from.

The backend runs:  python preload.py SHIM MANAGE_PY WORKSPACE MODULES

with the server's environment, plus DJANGO_RUNSERVER_PRELOAD_SOCKET, the
path of a unix socket the backend listens on. The preloader

* connects to that socket, its only channel to the backend besides stdin
  (end of file: the backend is gone, so exit);
* imports the modules MODULES lists (what the last server imported, one
  "name<TAB>file" a line, written by the shim) that lie outside WORKSPACE or
  inside a site-packages folder: Django and third-party code, never the
  project's own, and with DJANGO_SETTINGS_MODULE hidden, so nothing that
  needs the project's settings loads here;
* records the state of every file it imported, of every package folder and
  sys.path entry, and of the interpreter, and says {"ready": N}, or
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
import json
import os
import selectors
import signal
import socket
import sys
import threading

SOCKET_ENV = "DJANGO_RUNSERVER_PRELOAD_SOCKET"
MAX_FDS = 8
LIST_TIMEOUT = 30  # seconds


def main():
    shim_path, manage, workspace, modules_file = sys.argv[1:5]
    inherited = _open_fds()  # a cold start inherits these too
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.connect(os.environ.pop(SOCKET_ENV))
    shim = _load_shim(shim_path)
    sys.argv = [manage]
    sys.path[0] = os.path.dirname(os.path.abspath(manage))
    names = _preloadable(modules_file, workspace)
    imported = _import_all(names)
    unsafe = _unsafe(inherited | {ctl.fileno()})
    stamps = _stamps()
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
    """The names of the modules to import: those the last server imported
    that the project's edits don't touch."""
    workspace = os.path.realpath(workspace) + os.sep
    lines = _read_list(modules_file)
    names = []
    for line in lines:
        name, _, path = line.partition("\t")
        if not name or name == "__main__" or name.startswith("django_runserver_"):
            continue
        if path:
            real = os.path.realpath(path)
            third_party = "site-packages" in real.split(os.sep) or "dist-packages" in real.split(os.sep)
            if real.startswith(workspace) and not third_party:
                continue  # the project's own code: always imported fresh
        names.append(name)
    return names


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


def _import_all(names):
    """Import each module, in the order the server did. A module that fails
    here (most often one that needs the settings) is left to the child."""
    import importlib
    hidden = os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1), os.dup(2)
    os.dup2(devnull, 1)  # imports that print must not reach the backend's log
    os.dup2(devnull, 2)
    count = 0
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in names:
                if name in sys.modules:
                    continue
                try:
                    importlib.import_module(name)
                    count += 1
                except BaseException:  # noqa: B036 - any failure only means "not preloaded"
                    pass
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (devnull,) + saved:
            os.close(fd)
        if hidden is not None:
            os.environ["DJANGO_SETTINGS_MODULE"] = hidden
    return count


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
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)


def _stamps():
    """The state of everything imported code came from: module files,
    package folders (a new module in one may shadow nothing yet, but is
    found by a later import), sys.path entries and their .pth files, and the
    interpreter."""
    paths = {sys.executable, os.path.realpath(sys.executable)}
    for entry in sys.path:
        entry = entry or os.getcwd()
        paths.add(entry)
        try:
            paths.update(os.path.join(entry, n) for n in os.listdir(entry) if n.endswith(".pth"))
        except OSError:
            pass
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        origin = spec.origin if spec is not None and spec.has_location else getattr(module, "__file__", None)
        if isinstance(origin, str):
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
