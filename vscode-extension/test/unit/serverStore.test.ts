import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { State, Status } from "../../src/protocol";
import { ServerStore } from "../../src/serverStore";

const folder = "file:///a";
const status = (state: State, reloads = 0): Status => ({ folder, state, address: "8000", reloads });

describe("ServerStore", () => {
    it("returns the status it replaces", () => {
        const store = new ServerStore();
        assert.equal(store.update(status("stopped")), undefined);
        assert.equal(store.update(status("starting"))?.state, "stopped");
        assert.equal(store.get(folder)?.state, "starting");
    });

    it("drops a reply that a notification overtook", () => {
        const store = new ServerStore();
        store.update(status("stopped"));
        const version = store.version(folder);
        store.update(status("starting"));
        store.update(status("running"));
        assert.equal(store.applyReply(status("starting"), version), false);
        assert.equal(store.get(folder)?.state, "running");
    });

    it("applies a reply when nothing newer arrived", () => {
        const store = new ServerStore();
        store.update(status("stopped"));
        assert.equal(store.applyReply(status("failed"), store.version(folder)), true);
        assert.equal(store.get(folder)?.state, "failed");
    });

    it("notes when a reload finished", () => {
        let now = 1000;
        const store = new ServerStore(() => now);
        store.update(status("running", 0));
        assert.equal(store.lastReloadAt(folder), undefined);
        store.update(status("reloading", 0));
        now = 2000;
        store.update(status("running", 1));
        assert.equal(store.lastReloadAt(folder), 2000);
        now = 3000;
        store.update(status("stopped", 0));
        assert.equal(store.lastReloadAt(folder), undefined, "a new start forgets the old reloads");
    });
});
