// "Django: Debug Server" in VS Code: attach to each process the backend announces with
// runserver/debugReady, and tie the debug sessions to the server (debugConfig.ts decides).

import * as vscode from "vscode";
import {
    attachConfiguration,
    AttachMark,
    endedSession,
    markOf,
    ownDebugType,
    pythonDebuggerExtension,
} from "./debugConfig";
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
    /** Processes whose end the backend announced, by pid; their sessions end with them. */
    private readonly gone = new Set<number>();

    constructor(private readonly host: DebugHost) {
        this.subscriptions = [
            vscode.debug.registerDebugAdapterDescriptorFactory(ownDebugType, new RelayAdapterFactory()),
            vscode.debug.onDidTerminateDebugSession((s) => void this.onSessionEnded(s)),
        ];
    }

    /** onReady attaches to a new process, in its workspace folder. */
    async onReady(raw: DebugReadyParams): Promise<void> {
        const params = { ...raw, folder: this.host.normalizeFolder(raw.folder) };
        const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(params.folder));
        const config = attachConfiguration(params, this.host.folderName(params.folder), !!vscode.extensions.getExtension(pythonDebuggerExtension));
        this.host.log.info(`Attaching the debugger (${config.type}) to pid ${params.pid} on ${params.host}:${params.port}`);
        const started = await vscode.debug.startDebugging(folder, config, { suppressDebugStatusbar: false });
        if (!started) this.host.log.warn(`The debugger did not attach to pid ${params.pid}; attach to ${params.host}:${params.port} by hand.`);
    }

    onGone(params: DebugGoneParams): void {
        this.gone.add(params.pid);
    }

    private async onSessionEnded(session: vscode.DebugSession): Promise<void> {
        const mark: AttachMark | undefined = markOf(session.configuration);
        if (!mark) return;
        const status = this.host.status(this.host.normalizeFolder(mark.folder));
        const action = endedSession(mark, this.gone, status);
        this.gone.delete(mark.pid);
        if (action !== "stopServer" || !status) return;
        this.host.log.info(`The debug session of pid ${mark.pid} was stopped: stopping the server.`);
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
