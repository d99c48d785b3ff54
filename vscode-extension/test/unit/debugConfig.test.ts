import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attachConfiguration, debugWords, endedSession, FolderSessions, markOf, ownDebugType } from "../../src/debugConfig";
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
        // One session follows every process of the server: it is named after the folder alone.
        assert.equal(c.name, "Django: shop");
    });
    it("attaches with our own type otherwise, to the same place", () => {
        const c = attachConfiguration(ready, "shop", false);
        assert.equal(c.type, ownDebugType);
        assert.deepEqual(c.connect, { host: "127.0.0.1", port: 50123 });
    });
    it("marks the configuration with its folder, and reads the mark back", () => {
        assert.deepEqual(markOf(attachConfiguration(ready, "shop", false)), { folder: "file:///shop" });
        assert.equal(markOf({ type: "debugpy", request: "attach" }), undefined);
        assert.equal(markOf({ djangoRunserver: { folder: 42 } }), undefined);
    });
});

describe("FolderSessions", () => {
    const shop = "file:///shop";

    it("attaches to the first process, and every later process on the relay's address joins that session", () => {
        const sessions = new FolderSessions();
        assert.equal(sessions.ready(shop, "127.0.0.1", 50123), "attach");
        sessions.started(shop, "s1");
        for (let reload = 0; reload < 3; reload++) assert.equal(sessions.ready(shop, "127.0.0.1", 50123), "join");
        assert.equal(sessions.ended(shop, "s1"), true);
    });
    it("joins a process announced while VS Code is still starting the session", () => {
        const sessions = new FolderSessions();
        assert.equal(sessions.ready(shop, "127.0.0.1", 50123), "attach");
        assert.equal(sessions.ready(shop, "127.0.0.1", 50123), "join");
        sessions.started(shop, "s1");
        assert.equal(sessions.ended(shop, "s1"), true);
    });
    it("attaches again after the session ended: the server was debugged anew", () => {
        const sessions = new FolderSessions();
        sessions.ready(shop, "127.0.0.1", 50123);
        sessions.started(shop, "s1");
        assert.equal(sessions.ended(shop, "s1"), true);
        assert.equal(sessions.ready(shop, "127.0.0.1", 50123), "attach");
    });
    it("attaches again after VS Code did not start the session", () => {
        const sessions = new FolderSessions();
        sessions.ready(shop, "127.0.0.1", 50123);
        sessions.attachFailed(shop);
        assert.equal(sessions.ready(shop, "127.0.0.1", 50123), "attach");
    });
    it("attaches to a new server's relay; the old session's late end is not the folder's", () => {
        const sessions = new FolderSessions();
        sessions.ready(shop, "127.0.0.1", 50123);
        sessions.started(shop, "s1");
        assert.equal(sessions.ready(shop, "127.0.0.1", 50999), "attach");
        sessions.started(shop, "s2");
        assert.equal(sessions.ended(shop, "s1"), false);
        assert.equal(sessions.ready(shop, "127.0.0.1", 50999), "join");
        assert.equal(sessions.ended(shop, "s2"), true);
    });
    it("keeps each folder's session apart", () => {
        const sessions = new FolderSessions();
        sessions.ready(shop, "127.0.0.1", 50123);
        sessions.started(shop, "s1");
        assert.equal(sessions.ready("file:///blog", "127.0.0.1", 50124), "attach");
        sessions.started("file:///blog", "s2");
        assert.equal(sessions.ended("file:///blog", "s1"), false);
        assert.equal(sessions.ended(shop, "s1"), true);
        assert.equal(sessions.ready("file:///blog", "127.0.0.1", 50124), "join");
    });
});

describe("endedSession", () => {
    const cases: [string, Status | undefined, "stopServer" | "none"][] = [
        ["the user stopped the session while the server serves: stop the server", status(4242, "running", { attached: true }), "stopServer"],
        ["the user stopped it during a reload: stop the server", status(4242, "reloading", { attached: true }), "stopServer"],
        ["the user stopped it while the server waits for a fix: stop the server", status(4242, "failed", { attached: true }), "stopServer"],
        ["the server is stopping: the relay ended the session, nothing", status(4242, "stopping", {}), "none"],
        ["the server stopped: nothing", status(0, "stopped"), "none"],
        ["the server no longer runs under the debugger: nothing", status(4242, "running"), "none"],
        ["no status: nothing", undefined, "none"],
    ];
    for (const [name, st, want] of cases) {
        it(name, () => assert.equal(endedSession(st), want));
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
