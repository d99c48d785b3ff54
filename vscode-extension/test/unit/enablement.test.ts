import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contextKeys, toggleAction } from "../../src/enablement";
import { State, Status } from "../../src/protocol";

function status(folder: string, state: State, url?: string): Status {
    return { folder, state, address: "127.0.0.1:8000", reloads: 0, url };
}

describe("contextKeys", () => {
    it("one stopped server: only Run Server", () => {
        const s = status("file:///a", "stopped");
        assert.deepEqual(contextKeys([s], s, true), {
            "djangoRunserver.state": "stopped",
            "djangoRunserver.running": false,
            "djangoRunserver.canStart": true,
            "djangoRunserver.canStop": false,
            "djangoRunserver.canRestart": false,
            "djangoRunserver.canOpenBrowser": false,
        });
    });

    it("one running server: Stop, Restart, Open in Browser", () => {
        const s = status("file:///a", "running", "http://127.0.0.1:8000/");
        assert.deepEqual(contextKeys([s], s, true), {
            "djangoRunserver.state": "running",
            "djangoRunserver.running": true,
            "djangoRunserver.canStart": false,
            "djangoRunserver.canStop": true,
            "djangoRunserver.canRestart": true,
            "djangoRunserver.canOpenBrowser": true,
        });
    });

    it("a failed server can be started again, stopped and restarted, not browsed", () => {
        const s = status("file:///a", "failed");
        const k = contextKeys([s], s, true);
        assert.equal(k["djangoRunserver.canStart"], true);
        assert.equal(k["djangoRunserver.canStop"], true);
        assert.equal(k["djangoRunserver.canRestart"], true);
        assert.equal(k["djangoRunserver.canOpenBrowser"], false);
    });

    it("starting: only Stop", () => {
        const s = status("file:///a", "starting");
        const k = contextKeys([s], s, true);
        assert.deepEqual(
            [k["djangoRunserver.canStart"], k["djangoRunserver.canStop"], k["djangoRunserver.canRestart"]],
            [false, true, false],
        );
    });

    it("stopping: nothing", () => {
        const s = status("file:///a", "stopping");
        const k = contextKeys([s], s, true);
        assert.equal(k["djangoRunserver.canStart"] || k["djangoRunserver.canStop"] || k["djangoRunserver.canRestart"], false);
    });

    it("several folders: a command is enabled when it applies to any of them", () => {
        const a = status("file:///a", "running", "http://127.0.0.1:8000/");
        const b = status("file:///b", "stopped");
        const k = contextKeys([a, b], b, true);
        assert.equal(k["djangoRunserver.state"], "stopped");
        assert.equal(k["djangoRunserver.running"], true);
        assert.equal(k["djangoRunserver.canStart"], true);
        assert.equal(k["djangoRunserver.canStop"], true);
        assert.equal(k["djangoRunserver.canOpenBrowser"], true);
    });

    it("nothing is enabled while the backend is not ready", () => {
        const s = status("file:///a", "stopped");
        const k = contextKeys([s], s, false);
        assert.equal(k["djangoRunserver.state"], "");
        assert.equal(Object.values(k).some((v) => v === true), false);
    });
});

describe("toggleAction", () => {
    const want: Record<State, string> = {
        stopped: "start",
        failed: "start",
        starting: "stop",
        running: "stop",
        reloading: "stop",
        stopping: "none",
    };
    for (const [state, action] of Object.entries(want)) {
        it(`${state} → ${action}`, () => assert.equal(toggleAction(state as State), action));
    }
});
