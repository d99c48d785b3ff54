// What "Django: Debug Server" decides, without VS Code: the attach configuration for the server the
// backend announced, which announcement starts a session, and what the end of a session means.
// Pure, so it is unit tested; debug.ts applies it.

import { canStop } from "./enablement";
import { DebugReadyParams, Status } from "./protocol";

/** Microsoft's Python Debugger extension, whose `debugpy` debug type we attach with when it is installed. */
export const pythonDebuggerExtension = "ms-python.debugpy";

/** Our own debug type: its adapter is the debugpy adapter the server's process listens on. */
export const ownDebugType = "djangoRunserver";

/** Marks a debug configuration as ours, with the folder whose server it debugs. */
export interface AttachMark {
    folder: string;
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
 * attachConfiguration is how the editor attaches to the server the backend announced: with the
 * Python Debugger extension's `debugpy` type when it is installed, so the user gets its UI, else
 * with ours. Both speak to debugpy's adapter, through the backend's relay. The session outlives
 * the process it first attached to, so its name is the folder's, not the process's.
 */
export function attachConfiguration(params: DebugReadyParams, folderName: string, hasPythonDebugger: boolean): AttachConfiguration {
    return {
        type: hasPythonDebugger ? "debugpy" : ownDebugType,
        request: "attach",
        name: `Django: ${folderName}`,
        connect: { host: params.host, port: params.port },
        justMyCode: true,
        django: true,
        djangoRunserver: { folder: params.folder },
    };
}

/** markOf reads our mark from a debug configuration, if it is one of ours. */
export function markOf(configuration: { [key: string]: unknown }): AttachMark | undefined {
    const mark = configuration.djangoRunserver as Partial<AttachMark> | undefined;
    if (mark && typeof mark.folder === "string") return { folder: mark.folder };
    return undefined;
}

/** One folder's debug session: where it attached, and its id once VS Code has started it. */
interface FolderSession {
    address: string;
    id?: string;
}

/**
 * FolderSessions keeps one debug session per folder, from the attach until the session ends. The
 * backend's relay has one address for the server's life and keeps the editor's session through
 * reloads: each new process joins it. So a runserver/debugReady on the address of a session that
 * lives starts nothing, and a runserver/debugGone ends nothing; only the session's own end does.
 */
export class FolderSessions {
    private readonly sessions = new Map<string, FolderSession>();

    /**
     * ready says what a process announced on host:port means: "attach" when the folder has no
     * session on that address (the first process, or a new server with a new relay), "join" when
     * its session lives there and the relay brings the process into it.
     */
    ready(folder: string, host: string, port: number): "attach" | "join" {
        const address = `${host}:${port}`;
        if (this.sessions.get(folder)?.address === address) return "join";
        this.sessions.set(folder, { address });
        return "attach";
    }

    /** attachFailed forgets an attach that VS Code did not start, so the next process tries again. */
    attachFailed(folder: string): void {
        if (this.sessions.get(folder)?.id === undefined) this.sessions.delete(folder);
    }

    /** started records the id of the folder's session, once VS Code has started it. */
    started(folder: string, id: string): void {
        const session = this.sessions.get(folder);
        if (session && session.id === undefined) session.id = id;
    }

    /**
     * ended forgets the folder's session, and says whether the session that ended was it: a session
     * replaced by one on a new server's address ends on its own, and means nothing more.
     */
    ended(folder: string, id: string): boolean {
        if (this.sessions.get(folder)?.id !== id) return false;
        this.sessions.delete(folder);
        return true;
    }
}

/**
 * endedSession says what the end of a folder's debug session means. The backend's relay keeps the
 * session through reloads and crashes, and ends it only when the server stops or leaves the
 * debugger, after the status says so. A session that ends while the server still runs under the
 * debugger was stopped by the user: stopping the debug session stops the server.
 */
export function endedSession(status: Status | undefined): "stopServer" | "none" {
    return status?.debug && canStop(status.state) ? "stopServer" : "none";
}

/** debugWords is what the status bar adds for a server under the debugger, or "" for one without. */
export function debugWords(status: Status): string {
    const d = status.debug;
    if (!d) return "";
    if (d.reloadPending) return "paused · reload pending";
    if (d.paused) return "paused";
    return d.attached ? "debugging" : "waiting for the debugger";
}
