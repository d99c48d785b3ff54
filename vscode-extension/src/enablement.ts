// Which commands make sense for which server states. Pure, so it is unit tested; ctx.ts turns
// the result into VS Code context keys that package.json's `enablement`/`when` clauses read.

import { State, Status } from "./protocol";

/** A stopped or failed server can be started (a failed one retries). */
export function canStart(state: State): boolean {
    return state === "stopped" || state === "failed";
}

/** A failed server still watches files and retries on save; stopping it ends that too. */
export function canStop(state: State): boolean {
    return state === "starting" || state === "running" || state === "reloading" || state === "failed";
}

export function canRestart(state: State): boolean {
    return state === "running" || state === "reloading" || state === "failed";
}

/** A server can be started under the debugger unless it already runs under it, or is stopping. */
export function canDebug(status: Status): boolean {
    return canStart(status.state) || (status.state !== "stopping" && !status.debug);
}

export function canOpenBrowser(status: Status): boolean {
    return status.state === "running" && !!status.url;
}

/** What clicking the status bar item does for a server in this state. */
export function toggleAction(state: State): "start" | "stop" | "none" {
    if (canStart(state)) return "start";
    if (state === "stopping") return "none";
    return "stop";
}

/** The context keys, by name. */
export interface ContextKeys {
    /** State of the server the status bar shows, or "" when there is none. */
    "djangoRunserver.state": State | "";
    /** Some folder's server is running. */
    "djangoRunserver.running": boolean;
    "djangoRunserver.canStart": boolean;
    "djangoRunserver.canStop": boolean;
    "djangoRunserver.canRestart": boolean;
    "djangoRunserver.canOpenBrowser": boolean;
    "djangoRunserver.canDebug": boolean;
}

/**
 * contextKeys computes the context keys from every folder's status. A command is enabled when it
 * applies to at least one folder; with several, the command asks which one. Nothing applies while
 * the backend is not ready, since no request would be answered.
 */
export function contextKeys(statuses: readonly Status[], shown: Status | undefined, backendReady: boolean): ContextKeys {
    const some = (pred: (s: Status) => boolean) => backendReady && statuses.some(pred);
    return {
        "djangoRunserver.state": backendReady && shown ? shown.state : "",
        "djangoRunserver.running": some((s) => s.state === "running"),
        "djangoRunserver.canStart": some((s) => canStart(s.state)),
        "djangoRunserver.canStop": some((s) => canStop(s.state)),
        "djangoRunserver.canRestart": some((s) => canRestart(s.state)),
        "djangoRunserver.canOpenBrowser": some(canOpenBrowser),
        "djangoRunserver.canDebug": some(canDebug),
    };
}
