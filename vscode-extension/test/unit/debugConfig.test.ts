import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attachConfiguration, debugWords, endedSession, markOf, ownDebugType } from "../../src/debugConfig";
import { DebugStatus, Status } from "../../src/protocol";

const ready = { folder: "file:///shop", pid: 4242, host: "127.0.0.1", port: 50123 };

function status(pid: number, state: Status["state"], debug?: Partial<DebugStatus>): Status {
    return {
        folder: "file:///shop",
        state,
        address: "127.0.0.1:8000",
        reloads: 0,
        pid,
        debug: debug && { attached: false, paused: false, reloadPending: false, ...debug },
    };
}

describe("attachConfiguration", () => {
    it("attaches with the Python Debugger's debugpy type when it is installed", () => {
        const c = attachConfiguration(ready, "shop", true);
        assert.equal(c.type, "debugpy");
        assert.equal(c.request, "attach");
        assert.deepEqual(c.connect, { host: "127.0.0.1", port: 50123 });
        assert.equal(c.django, true);
        assert.equal(c.justMyCode, true);
        assert.match(c.name, /shop.*4242/);
    });
    it("attaches with our own type otherwise, to the same place", () => {
        const c = attachConfiguration(ready, "shop", false);
        assert.equal(c.type, ownDebugType);
        assert.deepEqual(c.connect, { host: "127.0.0.1", port: 50123 });
    });
    it("marks the configuration with its folder and process, and reads the mark back", () => {
        assert.deepEqual(markOf(attachConfiguration(ready, "shop", false)), { folder: "file:///shop", pid: 4242 });
        assert.equal(markOf({ type: "debugpy", request: "attach" }), undefined);
        assert.equal(markOf({ djangoRunserver: { folder: "file:///shop", pid: "4242" } }), undefined);
    });
});

describe("endedSession", () => {
    const mark = { folder: "file:///shop", pid: 4242 };
    const cases: [string, ReadonlySet<number>, Status | undefined, "stopServer" | "none"][] = [
        ["the user stopped the session while its process serves: stop the server", new Set(), status(4242, "running", { attached: true }), "stopServer"],
        ["the process was announced gone (a reload): nothing", new Set([4242]), status(4242, "running", { attached: true }), "none"],
        ["another process serves now: nothing", new Set(), status(5000, "running", {}), "none"],
        ["the server is stopping or stopped: nothing", new Set(), status(4242, "stopping", {}), "none"],
        ["the server no longer runs under the debugger: nothing", new Set(), status(4242, "running"), "none"],
        ["no status: nothing", new Set(), undefined, "none"],
    ];
    for (const [name, gone, st, want] of cases) {
        it(name, () => assert.equal(endedSession(mark, gone, st), want));
    }
});

describe("debugWords", () => {
    it("says what the debugger is doing, the pending reload first", () => {
        assert.equal(debugWords(status(1, "running")), "");
        assert.equal(debugWords(status(1, "starting", {})), "waiting for the debugger");
        assert.equal(debugWords(status(1, "running", { attached: true })), "debugging");
        assert.equal(debugWords(status(1, "running", { attached: true, paused: true })), "paused");
        assert.equal(debugWords(status(1, "running", { attached: true, paused: true, reloadPending: true })), "paused · reload pending");
    });
});
