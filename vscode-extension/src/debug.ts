// "Django: Debug Server" in VS Code: attach once to the server the backend announces with
// runserver/debugReady, keep that session through reloads, and tie it to the server
// (debugConfig.ts decides).

import * as vscode from "vscode";
import { attachConfiguration, endedSession, FolderSessions, markOf, ownDebugType, pythonDebuggerExtension } from "./debugConfig";
import { DebugGoneParams, DebugReadyParams, FolderParams, Status, StopRequest } from "./protocol";

/** What the debugger needs of the extension's context. */
export interface DebugHost {
    readonly log: vscode.LogOutputChannel;
    status(folder: string): Status | undefined;
    folderName(folder: string): string;
    normalizeFolder(uri: string): string;
    request(type: typeof StopRequest, params: FolderParams): Promise<Status>;
}

/** Our debug type's adapter: the debugpy adapter, reached through the backend's relay. */
class RelayAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
    createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.DebugAdapterDescriptor {
        const connect = session.configuration.connect as { host?: string; port?: number } | undefined;
        if (!connect?.port) {
            throw new Error("Django: Debug Server attaches by itself; there is nothing to launch from launch.json.");
        }
        return new vscode.DebugAdapterServer(connect.port, connect.host ?? "127.0.0.1");
    }
}

export class Debugger implements vscode.Disposable {
    private readonly subscriptions: vscode.Disposable[];
    private readonly sessions = new FolderSessions();

    constructor(private readonly host: DebugHost) {
        this.subscriptions = [
            vscode.debug.registerDebugAdapterDescriptorFactory(ownDebugType, new RelayAdapterFactory()),
            vscode.debug.onDidStartDebugSession((s) => this.onSessionStarted(s)),
            vscode.debug.onDidTerminateDebugSession((s) => void this.onSessionEnded(s)),
        ];
    }

    /** onReady attaches to the folder's server, unless its session lives and the new process joins it. */
    async onReady(raw: DebugReadyParams): Promise<void> {
        const params = { ...raw, folder: this.host.normalizeFolder(raw.folder) };
        if (this.sessions.ready(params.folder, params.host, params.port) === "join") {
            this.host.log.info(`pid ${params.pid} joins the debug session on ${params.host}:${params.port}`);
            return;
        }
        const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(params.folder));
        const config = attachConfiguration(params, this.host.folderName(params.folder), !!vscode.extensions.getExtension(pythonDebuggerExtension));
        this.host.log.info(`Attaching the debugger (${config.type}) to pid ${params.pid} on ${params.host}:${params.port}`);
        const started = await vscode.debug.startDebugging(folder, config, { suppressDebugStatusbar: false });
        if (!started) {
            this.sessions.attachFailed(params.folder);
            this.host.log.warn(`The debugger did not attach to pid ${params.pid}; attach to ${params.host}:${params.port} by hand.`);
        }
    }

    /** onGone notes a process's end; its threads leave the session, which stays for the next process. */
    onGone(params: DebugGoneParams): void {
        this.host.log.info(`pid ${params.pid} left the debug session`);
    }

    private onSessionStarted(session: vscode.DebugSession): void {
        const mark = markOf(session.configuration);
        if (!mark) return;
        this.sessions.started(this.host.normalizeFolder(mark.folder), session.id);
        this.host.log.info(`Debug session ${session.id} started`);
    }

    private async onSessionEnded(session: vscode.DebugSession): Promise<void> {
        const mark = markOf(session.configuration);
        if (!mark) return;
        const folder = this.host.normalizeFolder(mark.folder);
        const current = this.sessions.ended(folder, session.id);
        this.host.log.info(`Debug session ${session.id} ended`);
        const status = this.host.status(folder);
        if (!current || endedSession(status) !== "stopServer" || !status) return;
        this.host.log.info(`The debug session was stopped: stopping the server.`);
        try {
            await this.host.request(StopRequest, { folder: status.folder });
        } catch (err) {
            this.host.log.warn(`Could not stop the server: ${err instanceof Error ? err.message : String(err)}`);
        }
    }

    dispose(): void {
        for (const d of this.subscriptions) d.dispose();
    }
}
