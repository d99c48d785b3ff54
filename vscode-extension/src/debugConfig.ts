// What "Django: Debug Server" decides, without VS Code: the attach configuration for a process the
// backend announced, and what the end of a debug session means. Pure, so it is unit tested;
// debug.ts applies it.

import { DebugReadyParams, Status } from "./protocol";

/** Microsoft's Python Debugger extension, whose `debugpy` debug type we attach with when it is installed. */
export const pythonDebuggerExtension = "ms-python.debugpy";

/** Our own debug type: its adapter is the debugpy adapter the server's process listens on. */
export const ownDebugType = "djangoRunserver";

/** Marks a debug configuration as ours, with the folder and process it attaches to. */
export interface AttachMark {
    folder: string;
    pid: number;
}

/** An attach configuration, as vscode.debug.startDebugging takes it. */
export interface AttachConfiguration {
    type: string;
    request: "attach";
    name: string;
    connect: { host: string; port: number };
    justMyCode: boolean;
    /** Django template debugging, in debugpy's words. */
    django: boolean;
    djangoRunserver: AttachMark;
    [key: string]: unknown;
}

/**
 * attachConfiguration is how the editor attaches to a process the backend announced: with the
 * Python Debugger extension's `debugpy` type when it is installed, so the user gets its UI, else
 * with ours. Both speak to debugpy's adapter, through the backend's relay.
 */
export function attachConfiguration(params: DebugReadyParams, folderName: string, hasPythonDebugger: boolean): AttachConfiguration {
    return {
        type: hasPythonDebugger ? "debugpy" : ownDebugType,
        request: "attach",
        name: `Django: ${folderName} (pid ${params.pid})`,
        connect: { host: params.host, port: params.port },
        justMyCode: true,
        django: true,
        djangoRunserver: { folder: params.folder, pid: params.pid },
    };
}

/** markOf reads our mark from a debug configuration, if it is one of ours. */
export function markOf(configuration: { [key: string]: unknown }): AttachMark | undefined {
    const mark = configuration.djangoRunserver as Partial<AttachMark> | undefined;
    if (mark && typeof mark.folder === "string" && typeof mark.pid === "number") return { folder: mark.folder, pid: mark.pid };
    return undefined;
}

/**
 * endedSession says what the end of one of our debug sessions means. The backend ends a session
 * itself when its process is gone (a reload, a crash, a stop), and says so with
 * runserver/debugGone first: then nothing is to be done. A session that ends while its process
 * still serves was stopped by the user: stopping the debug session stops the server.
 */
export function endedSession(mark: AttachMark, gone: ReadonlySet<number>, status: Status | undefined): "stopServer" | "none" {
    if (gone.has(mark.pid) || !status || !status.debug) return "none";
    const live = status.pid === mark.pid && (status.state === "running" || status.state === "starting" || status.state === "reloading");
    return live ? "stopServer" : "none";
}

/** debugWords is what the status bar adds for a server under the debugger, or "" for one without. */
export function debugWords(status: Status): string {
    const d = status.debug;
    if (!d) return "";
    if (d.reloadPending) return "paused · reload pending";
    if (d.paused) return "paused";
    return d.attached ? "debugging" : "waiting for the debugger";
}
