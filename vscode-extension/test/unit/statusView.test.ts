import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Commands, openSettingsCommand } from "../../src/commandIds";
import { ErrorCode, ServerError, State, Status } from "../../src/protocol";
import {
    commandLink,
    errorBackground,
    failureReason,
    pickShownFolder,
    portOf,
    ServerView,
    statusBarModel,
    StatusBarInput,
} from "../../src/statusView";

const folder = "file:///home/me/mysite";

function status(state: State, extra: Partial<Status> = {}): Status {
    return { folder, state, address: "127.0.0.1:8000", reloads: 0, ...extra };
}

function view(s: Status, extra: Partial<ServerView> = {}): StatusBarInput {
    return { backend: { state: "ready" }, shown: { status: s, folderName: "mysite", ...extra }, serverCount: 1 };
}

describe("statusBarModel", () => {
    it("stopped: play icon, Run Server, click starts", () => {
        const m = statusBarModel(view(status("stopped")));
        assert.equal(m.text, "$(play) Run Server");
        assert.equal(m.backgroundColor, undefined);
        assert.deepEqual(m.command, { command: Commands.toggle, arguments: [folder] });
        assert.ok(m.visible);
    });

    for (const state of ["starting", "reloading", "stopping"] as const) {
        it(`${state}: spinner`, () => {
            const m = statusBarModel(view(status(state)));
            assert.match(m.text, /^\$\(loading~spin\) /);
            assert.equal(m.backgroundColor, undefined);
        });
    }

    it("starting and reloading click stops; stopping has no click", () => {
        assert.equal(statusBarModel(view(status("starting"))).command?.command, Commands.toggle);
        assert.equal(statusBarModel(view(status("reloading"))).command?.command, Commands.toggle);
        assert.equal(statusBarModel(view(status("stopping"))).command, undefined);
    });

    it("running: radio tower and the port from the URL", () => {
        const m = statusBarModel(view(status("running", { address: "0:8123", url: "http://127.0.0.1:8123/", pid: 42 })));
        assert.equal(m.text, "$(radio-tower) :8123");
        assert.equal(m.backgroundColor, undefined);
        assert.deepEqual(m.command, { command: Commands.toggle, arguments: [folder] });
    });

    it("under the debugger: a bug, and paused with the pending reload said in the text and the tooltip", () => {
        const url = "http://127.0.0.1:8123/";
        const debug = { host: "127.0.0.1", port: 50123, attached: true, paused: false, reloadPending: false };
        const attached = statusBarModel(view(status("running", { url, pid: 42, debug })));
        assert.equal(attached.text, "$(debug-alt) :8123");
        assert.match(attached.tooltip, /Debugger on 127\.0\.0\.1:50123: debugging/);
        assert.ok(!attached.tooltip.includes(Commands.debug), "no Debug Server link on a server already under the debugger");
        const pending = statusBarModel(view(status("running", { url, pid: 42, debug: { ...debug, paused: true, reloadPending: true } })));
        assert.equal(pending.text, "$(debug-pause) :8123 paused · reload pending");
        assert.match(pending.tooltip, /Restart applies it now/);
        assert.ok(statusBarModel(view(status("running", { url, pid: 42 }))).tooltip.includes(commandLink("$(debug-alt) Debug Server", Commands.debug, [folder])));
    });

    it("running without a URL falls back to the address's port", () => {
        assert.equal(statusBarModel(view(status("running", { address: "[::1]:9000" }))).text, "$(radio-tower) :9000");
    });

    it("failed: error icon, error background, a short reason, click retries", () => {
        const error: ServerError = { code: "port-in-use", message: "Port 8000 is in use by PID 7.", port: 8000 };
        const m = statusBarModel(view(status("failed", { error })));
        assert.equal(m.text, "$(error) Port 8000 in use");
        assert.equal(m.backgroundColor, errorBackground);
        assert.deepEqual(m.command, { command: Commands.toggle, arguments: [folder] });
        assert.match(m.tooltip, /Port 8000 is in use by PID 7\\\./);
    });

    it("failed with a traceback names the exception, file and line", () => {
        const error: ServerError = {
            code: "startup-failed",
            message: "SyntaxError: invalid syntax",
            exception: "SyntaxError",
            file: "/home/me/mysite/polls/views.py",
            line: 12,
        };
        assert.equal(statusBarModel(view(status("failed", { error }))).text, "$(error) SyntaxError views.py:12");
    });

    it("names the folder when several folders can run a server", () => {
        const input = { ...view(status("running", { url: "http://127.0.0.1:8000/" })), serverCount: 2 };
        assert.equal(statusBarModel(input).text, "$(radio-tower) mysite :8000");
    });

    it("tooltip: URL, pid, reloads, last reload time, and command links", () => {
        const at = new Date(2024, 0, 2, 14, 3, 9).getTime();
        const s = status("running", {
            url: "http://127.0.0.1:8000/",
            pid: 4242,
            reloads: 3,
            lastReloadMs: 507.6,
            trigger: { kind: "save", path: "/home/me/mysite/polls/views.py" },
            mode: "fast",
        });
        const t = statusBarModel(view(s, { lastReloadAt: at })).tooltip;
        assert.match(t, /URL: http:\/\/127\.0\.0\.1:8000\//);
        assert.match(t, /PID: 4242/);
        assert.match(t, /Reloads: 3 · last took 508 ms \(save views\\\.py\) at 14:03:09/);
        const args = encodeURIComponent(JSON.stringify([folder]));
        assert.ok(t.includes(`(command:${Commands.openBrowser}?${args})`), t);
        assert.ok(t.includes(`(command:${Commands.restart}?${args})`), t);
        assert.ok(t.includes(`(command:${Commands.showLog})`), t);
        assert.ok(!t.includes(`command:${Commands.start}`), "a running server offers no Run link");
    });

    it("tooltip: whether the last reload was warm, or cold and why", () => {
        const reloaded = { url: "http://127.0.0.1:8000/", reloads: 2, lastReloadMs: 140.2, trigger: { kind: "watch" as const, path: "/p/views.py" } };
        const warm = statusBarModel(view(status("running", { ...reloaded, start: "warm" }))).tooltip;
        assert.match(warm, /last took 140 ms \(watch views\\\.py\), warm/);
        assert.doesNotMatch(warm, /Cold because/);
        const cold = statusBarModel(
            view(status("running", { ...reloaded, start: "cold", coldReason: "/venv/lib/x_y.py changed since the preloader imported it" })),
        ).tooltip;
        assert.match(cold, /last took 140 ms \(watch views\\\.py\), cold/);
        assert.ok(cold.includes("Cold because /venv/lib/x\\_y\\.py changed since the preloader imported it"), cold);
        const first = statusBarModel(view(status("running", { start: "cold" }))).tooltip;
        assert.doesNotMatch(first, /cold/i, "a first start says nothing of preloading");
    });

    it("tooltip: the reload and watch modes in use", () => {
        const t = statusBarModel(view(status("running", { mode: "fast", watch: "poll" }))).tooltip;
        assert.match(t, /Reload mode: fast {2}\nWatch mode: poll/);
        assert.doesNotMatch(statusBarModel(view(status("running"))).tooltip, /Watch mode/, "no mode before the backend says");
    });

    it("tooltip: browser reload on, and why requests can fail where the platform falls back", () => {
        const on = statusBarModel(view(status("running", { mode: "fast", browserReload: true }))).tooltip;
        assert.match(on, /Reload mode: fast {2}\nBrowser reload: on, open pages reload themselves/);
        assert.doesNotMatch(statusBarModel(view(status("running", { mode: "fast" }))).tooltip, /Browser reload/, "off: no line");
        const note = "on Windows each Django process binds the address itself, so a request that arrives while the server reloads can fail";
        const win = statusBarModel(view(status("running", { mode: "fast", browserReload: true, browserReloadNote: note }))).tooltip;
        assert.ok(win.includes(`$(warning) ${note}`), win);
    });

    it("tooltip: a runserver without the page script says browser reload is off, and why", () => {
        const reason = "the runserver of the app \"ownserver\" runs a server of its own, which serves pages the backend can't add the reload script to";
        const runserver = { command: "ownserver.management.commands.runserver", server: "other" as const,
            off: [{ feature: "browserReload" as const, reason }] };
        const t = statusBarModel(view(status("running", { mode: "fast", runserver }))).tooltip;
        assert.ok(t.includes("$(warning) Browser reload: off, because the runserver of the app"), t);
        assert.doesNotMatch(t, /Browser reload: on/);
    });

    it("tooltip of an error about a setting names VS Code's setting and links to it", () => {
        const error: ServerError = { code: "python-not-found", message: "No Python at /nope.", setting: "python" };
        const t = statusBarModel(view(status("failed", { error }))).tooltip;
        const link = `(command:${openSettingsCommand}?${encodeURIComponent(JSON.stringify(["djangoRunserver.python"]))})`;
        assert.ok(t.includes(`No Python at /nope\\.\n\nSetting: [djangoRunserver\\.python]${link}`), t);
        const without = statusBarModel(view(status("failed", { error: { ...error, setting: undefined } }))).tooltip;
        assert.ok(!without.includes("Setting:"), "no pointer when the error names no setting");
    });

    it("tooltip of a stopped server offers Run, not Open in Browser", () => {
        const t = statusBarModel(view(status("stopped"))).tooltip;
        assert.ok(t.includes(`command:${Commands.start}?`));
        assert.ok(!t.includes(`command:${Commands.openBrowser}`));
    });

    it("backend starting with no folders yet: a visible spinner", () => {
        const m = statusBarModel({ backend: { state: "starting" }, serverCount: 0 });
        assert.ok(m.visible);
        assert.match(m.text, /loading~spin/);
    });

    it("backend ready and no manage.py anywhere: hidden", () => {
        assert.equal(statusBarModel({ backend: { state: "ready" }, serverCount: 0 }).visible, false);
    });

    it("backend failed: error background and a Restart Backend link, whatever the server state", () => {
        const m = statusBarModel({
            backend: { state: "failed", message: "The backend crashed 5 times" },
            shown: { status: status("running"), folderName: "mysite" },
            serverCount: 1,
        });
        assert.equal(m.text, "$(error) Django");
        assert.equal(m.backgroundColor, errorBackground);
        assert.ok(m.tooltip.includes(`(command:${Commands.restartBackend})`));
        assert.equal(m.command?.command, Commands.showLog);
    });
});

describe("failureReason", () => {
    const cases: [ServerError, string][] = [
        [{ code: "port-in-use", message: "", port: 8000 }, "Port 8000 in use"],
        [{ code: "permission-denied", message: "", port: 80 }, "Port 80 needs privileges"],
        [{ code: "startup-failed", message: "", exception: "ImportError", file: "C:\\p\\urls.py", line: 3 }, "ImportError urls.py:3"],
        [{ code: "startup-failed", message: "" }, "Startup failed"],
        [{ code: "crashed", message: "", exitCode: 1 }, "Crashed (exit 1)"],
        [{ code: "python-not-found", message: "" }, "Python not found"],
        [{ code: "manage-py-not-found", message: "" }, "manage.py not found"],
        [{ code: "django-not-found", message: "" }, "Django not installed"],
        [{ code: "address-unavailable", message: "" }, "Address unavailable"],
        [{ code: "invalid-address", message: "" }, "Invalid address"],
        [{ code: "invalid-settings", message: "" }, "Invalid settings"],
        [{ code: "startup-timeout", message: "" }, "Startup timed out"],
        [{ code: "folder-gone", message: "" }, "Folder gone"],
    ];
    for (const [error, want] of cases) {
        it(`${error.code} → ${want}`, () => assert.equal(failureReason(error), want));
    }
    it("no error at all", () => assert.equal(failureReason(undefined), "Failed"));
    it("a code from a newer backend", () => assert.equal(failureReason({ code: "out-of-memory" as ErrorCode, message: "" }), "Failed"));
    it("every code has words of its own", () => {
        for (const code of Object.values(ErrorCode)) assert.notEqual(failureReason({ code, message: "" }), "Failed", code);
    });
});

describe("portOf", () => {
    it("prefers the URL", () => assert.equal(portOf({ url: "http://127.0.0.1:8001/", address: "8000" }), "8001"));
    it("reads bare ports and IPv6 addresses", () => {
        assert.equal(portOf({ address: "8000" }), "8000");
        assert.equal(portOf({ address: "[::]:8080" }), "8080");
    });
});

describe("commandLink", () => {
    it("encodes the arguments as JSON", () => {
        assert.equal(commandLink("Go", "x.y", ["file:///a b"]), `[Go](command:x.y?${encodeURIComponent('["file:///a b"]')})`);
    });
});

describe("pickShownFolder", () => {
    const a = status("stopped", { folder: "file:///a" });
    const b = status("running", { folder: "file:///b" });
    it("the active editor's folder first", () => assert.equal(pickShownFolder([a, b], "file:///a", "file:///b"), "file:///a"));
    it("else the one shown before", () => assert.equal(pickShownFolder([a, b], "file:///elsewhere", "file:///a"), "file:///a"));
    it("else one that is not stopped", () => assert.equal(pickShownFolder([a, b], undefined, undefined), "file:///b"));
    it("else the only one", () => assert.equal(pickShownFolder([a], undefined, undefined), "file:///a"));
    it("none when no folder can run a server", () => assert.equal(pickShownFolder([], "file:///a", undefined), undefined));
});
