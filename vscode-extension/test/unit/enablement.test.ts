import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contextKeys, toggleAction } from "../../src/enablement";
import { State, Status } from "../../src/protocol";

function status(folder: string, state: State, url?: string): Status {
    return { folder, state, address: "127.0.0.1:8000", reloads: 0, url };
}

describe("contextKeys", () => {
    const [stopped, failed, starting, stopping] = (["stopped", "failed", "starting", "stopping"] as const).map((st) => status("file:///a", st));
    const running = status("file:///a", "running", "http://127.0.0.1:8000/");
    const other = status("file:///b", "stopped");
    const all = ["running", "canStart", "canStop", "canRestart", "canOpenBrowser", "canDebug"];
    const debugging: Status = { ...running, debug: { host: "127.0.0.1", port: 5678, attached: true, paused: false, reloadPending: false } };
    // [case, every folder's status, the shown one, backend ready, the shown state, the keys that are true]
    const cases: [string, Status[], Status, boolean, State | "", string[]][] = [
        ["one stopped server: Run Server and Debug Server", [stopped], stopped, true, "stopped", ["canStart", "canDebug"]],
        ["one running server: Stop, Restart, Open in Browser, and Debug Server restarts it under the debugger", [running], running, true, "running", ["running", "canStop", "canRestart", "canOpenBrowser", "canDebug"]],
        ["a server under the debugger: no Debug Server again", [debugging], debugging, true, "running", ["running", "canStop", "canRestart", "canOpenBrowser"]],
        ["a failed server can be started again, stopped and restarted, not browsed", [failed], failed, true, "failed", ["canStart", "canStop", "canRestart", "canDebug"]],
        ["starting: Stop, or Debug Server to start it under the debugger instead", [starting], starting, true, "starting", ["canStop", "canDebug"]],
        ["stopping: nothing", [stopping], stopping, true, "stopping", []],
        ["several folders: a command is enabled when it applies to any of them", [running, other], other, true, "stopped", all],
        ["nothing is enabled while the backend is not ready", [stopped], stopped, false, "", []],
    ];
    for (const [name, statuses, shown, ready, state, on] of cases) {
        it(name, () => {
            const keys = contextKeys(statuses, shown, ready);
            assert.equal(keys["djangoRunserver.state"], state);
            const enabled = Object.entries(keys).filter(([, value]) => value === true).map(([key]) => key.replace(/^djangoRunserver\./, ""));
            assert.deepEqual(enabled, on);
        });
    }
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
