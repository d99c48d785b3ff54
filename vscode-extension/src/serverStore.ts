// Every folder's latest Status, as the backend reported it. Pure (the clock is injected), so it is
// unit tested; ctx.ts feeds it from runserver/didChangeStatus and from request replies.

import { Status } from "./protocol";

interface Entry {
    status: Status;
    /** Wall-clock time when the latest reload finished. */
    lastReloadAt?: number;
    /** Bumped on every update, so a stale request reply can be told from a fresh one. */
    version: number;
}

export class ServerStore {
    private readonly entries = new Map<string, Entry>();
    private counter = 0;

    constructor(private readonly now: () => number = Date.now) {}

    /** update records a status and returns the one it replaces. */
    update(status: Status): Status | undefined {
        const prev = this.entries.get(status.folder);
        let lastReloadAt = status.reloads > 0 ? prev?.lastReloadAt : undefined;
        if (status.state === "running" && prev && status.reloads > prev.status.reloads) lastReloadAt = this.now();
        this.entries.set(status.folder, { status, lastReloadAt, version: ++this.counter });
        return prev?.status;
    }

    /** version identifies the folder's current status; pass it to applyReply. */
    version(folder: string): number {
        return this.entries.get(folder)?.version ?? 0;
    }

    /**
     * applyReply records a request's reply unless a notification for the folder arrived after the
     * request was sent: notifications carry every state change in order, a reply may lag them.
     */
    applyReply(status: Status, versionAtSend: number): boolean {
        if (this.version(status.folder) !== versionAtSend) return false;
        this.update(status);
        return true;
    }

    get(folder: string): Status | undefined {
        return this.entries.get(folder)?.status;
    }

    lastReloadAt(folder: string): number | undefined {
        return this.entries.get(folder)?.lastReloadAt;
    }

    all(): Status[] {
        return [...this.entries.values()].map((e) => e.status);
    }

    delete(folder: string): void {
        this.entries.delete(folder);
    }

    clear(): void {
        this.entries.clear();
    }
}
