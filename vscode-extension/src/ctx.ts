// Ctx owns the language client that talks to the django-runserver backend, and everything whose
// life is tied to it. Two disposal lists keep restarts clean: `extensionSubscriptions` live as long
// as the extension, `clientSubscriptions` are disposed with each client, so a restart never leaks.

import { randomUUID } from "node:crypto";
import * as vscode from "vscode";
import * as lc from "vscode-languageclient/node";
import { Commands } from "./commandIds";
import { Config, configSection } from "./config";
import { contextKeys, ContextKeys } from "./enablement";
import { Debugger } from "./debug";
import {
    DebugGoneNotification,
    DebugReadyNotification,
    DidChangeStatusNotification,
    LogNotification,
    FolderParams,
    LogParams,
    RestartRequest,
    Status,
} from "./protocol";
import { PythonInterpreters } from "./python";
import { RestartLimiter } from "./restartLimiter";
import { resolveServerPath } from "./serverBinary";
import { ServerStore } from "./serverStore";
import { mayShowDocument } from "./showDocument";
import { SettingDiagnostics } from "./settingDiagnostics";
import { changedRestartKeys, restartBackendKey, settingId } from "./settings";
import { StatusBar } from "./statusBar";
import { BackendHealth, pickShownFolder, statusBarModel } from "./statusView";

/** A request that answers with a folder's Status. */
type StatusRequestType<P> = lc.RequestType<P, Status, void>;

/** normalizeFolder spells a folder URI the way vscode.Uri does, so lookups by string agree. */
export function normalizeFolder(uri: string): string {
    return vscode.Uri.parse(uri).toString();
}

/** saveFilter selects every file of a folder, so the client sends didSave for it. */
function saveFilter(folder: vscode.WorkspaceFolder): lc.TextDocumentFilter {
    return { scheme: "file", pattern: { baseUri: folder.uri.toString(), pattern: "**/*" } };
}

export class Ctx implements vscode.Disposable {
    readonly log: vscode.LogOutputChannel;
    private readonly trace: vscode.LogOutputChannel;
    readonly servers = new ServerStore();
    readonly config: Config;
    private readonly python: PythonInterpreters;
    private readonly statusBar = new StatusBar();
    private readonly limiter = new RestartLimiter();
    private readonly settingDiagnostics = new SettingDiagnostics();
    private readonly debugger: Debugger;

    private readonly extensionSubscriptions: vscode.Disposable[] = [];
    private clientSubscriptions: vscode.Disposable[] = [];
    private client?: lc.LanguageClient;
    private backend: BackendHealth = { state: "starting" };
    private shownFolder?: string;
    private contextKeyValues: Partial<ContextKeys> = {};
    /** didSave registrations for folders added after the client started, by folder URI. */
    private readonly saveRegistrations = new Map<string, string>();
    /** Folders whose saves the client's documentSelector already covers. */
    private initialSaveFolders = new Set<string>();

    constructor(private readonly extensionContext: vscode.ExtensionContext) {
        this.log = vscode.window.createOutputChannel("Django Runserver", { log: true });
        this.trace = vscode.window.createOutputChannel("Django Runserver (JSON-RPC)", { log: true });
        this.python = new PythonInterpreters(this.log);
        this.config = new Config(this.python);
        this.debugger = new Debugger({
            log: this.log,
            status: (folder) => this.servers.get(folder),
            folderName: (folder) => this.folderName(folder),
            normalizeFolder,
            request: (type, params) => this.request(type, params),
        });
        this.extensionSubscriptions.push(
            this.debugger,
            this.log,
            this.trace,
            this.statusBar,
            this.python,
            this.python.onDidChange(() => void this.onSettingsChanged(false)),
            vscode.workspace.onDidChangeConfiguration((e) => {
                if (e.affectsConfiguration(configSection)) {
                    void this.onSettingsChanged(e.affectsConfiguration(`${configSection}.${restartBackendKey}`));
                }
            }),
            vscode.workspace.onDidChangeWorkspaceFolders((e) => this.onFoldersChanged(e)),
            vscode.window.onDidChangeActiveTextEditor(() => this.updateStatusBarItem()),
        );
        this.updateStatusBarItem();
    }

    /** start launches the backend. Failures are reported in the status bar, never thrown. */
    async start(): Promise<void> {
        this.setBackend({ state: "starting" });
        let command: string;
        try {
            command = await resolveServerPath(this.extensionContext.extensionPath, this.config.serverPath());
        } catch (err) {
            this.failBackend(errorMessage(err));
            return;
        }
        await this.python.init();
        await this.config.payload();

        const folders = vscode.workspace.workspaceFolders ?? [];
        this.initialSaveFolders = new Set(folders.map((f) => f.uri.toString()));
        const serverOptions: lc.ServerOptions = { command, args: ["--stdio"] };
        const clientOptions: lc.LanguageClientOptions = {
            documentSelector: folders.map(saveFilter),
            outputChannel: this.log,
            traceOutputChannel: this.trace,
            revealOutputChannelOn: lc.RevealOutputChannelOn.Never,
            diagnosticCollectionName: "runserver",
            middleware: {
                // Bind errors arrive on manage.py; they belong on the line that sets the address.
                handleDiagnostics: (uri, diagnostics, next) => this.settingDiagnostics.handle(uri, diagnostics, next),
                window: {
                    // A click on a traceback frame in a page: the client opens it at the line, focused,
                    // if it is a file of a workspace folder in a trusted workspace.
                    showDocument: async (params, token, next) => {
                        const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.toString());
                        const asked = { uri: normalizeFolder(params.uri), external: params.external };
                        if (!mayShowDocument(asked, vscode.workspace.isTrusted, folders)) {
                            this.log.warn(`Not opening ${params.uri}: only files of a trusted workspace's folders open from a page.`);
                            return { success: false };
                        }
                        return next(params, token);
                    },
                },
            },
            // A function, so a restart after a crash sends the settings of that moment.
            initializationOptions: () => ({ settings: this.config.lastPayload }),
            errorHandler: {
                error: (_error, _message, count) => ({
                    action: (count ?? 0) <= 3 ? lc.ErrorAction.Continue : lc.ErrorAction.Shutdown,
                }),
                closed: () => this.onBackendClosed(),
            },
            initializationFailedHandler: (error) => {
                this.failBackend(`The backend failed to initialize: ${errorMessage(error)}`);
                return false;
            },
        };
        const client = new lc.LanguageClient("djangoRunserver", "Django Runserver", serverOptions, clientOptions);
        this.client = client;
        this.clientSubscriptions.push(
            client,
            client.onNotification(DidChangeStatusNotification, (status) => this.setServerStatus(status)),
            client.onNotification(LogNotification, (params) => this.onLog(params)),
            client.onNotification(DebugReadyNotification, (params) => void this.debugger.onReady(params)),
            client.onNotification(DebugGoneNotification, (params) => this.debugger.onGone(params)),
            client.onDidChangeState((e) => this.onClientState(e.newState)),
        );
        this.log.info(`Starting the backend: ${command} --stdio`);
        try {
            await client.start();
        } catch (err) {
            if (this.backend.state !== "failed") this.failBackend(`The backend could not be started: ${errorMessage(err)}`);
        }
    }

    /** stop ends the backend (and with it every Django server) and disposes the client's resources. */
    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client?.isRunning()) {
            try {
                await client.stop(10_000);
            } catch (err) {
                this.log.warn(`The backend did not stop cleanly: ${errorMessage(err)}`);
            }
        }
        for (const d of this.clientSubscriptions) d.dispose();
        this.clientSubscriptions = [];
        this.saveRegistrations.clear();
        this.servers.clear();
        this.updateStatusBarItem();
    }

    /** restart replaces the backend, e.g. after serverPath changed or the user asked for it. */
    async restart(): Promise<void> {
        this.limiter.reset();
        await this.stop();
        await this.start();
    }

    /**
     * request sends a runserver/* request and records the reply, unless a status notification for
     * the folder overtook it.
     */
    async request<P extends FolderParams>(type: StatusRequestType<P>, params: P): Promise<Status> {
        const client = this.client;
        if (!client || this.backend.state !== "ready") {
            throw new Error("The Django Runserver backend is not running. Run \"Django: Restart Django Runserver Backend\".");
        }
        const version = params.folder ? this.servers.version(params.folder) : 0;
        // By method name: the typed overload cannot check a generic P; this method's signature does.
        const reply = await client.sendRequest<Status>(type.method, params);
        const status = { ...reply, folder: normalizeFolder(reply.folder) };
        if (this.servers.applyReply(status, version)) this.updateStatusBarItem();
        return status;
    }

    /** setServerStatus records a folder's status and updates everything that shows it. */
    setServerStatus(raw: Status): void {
        const status = { ...raw, folder: normalizeFolder(raw.folder) };
        // A removed folder's server reports "stopped" on its way out; it is no longer ours to show.
        if (!this.isWorkspaceFolder(status.folder)) {
            this.servers.delete(status.folder);
            this.updateStatusBarItem();
            return;
        }
        const prev = this.servers.update(status);
        if (status.state === "running" && prev?.state === "starting" && status.url) {
            const folder = vscode.Uri.parse(status.folder);
            if (this.config.openBrowser(folder)) void this.openBrowser(status.url);
        }
        this.updateStatusBarItem();
    }

    /** The status bar item shown now: the one status function every change goes through. */
    updateStatusBarItem(): void {
        const statuses = this.servers.all();
        const editor = vscode.window.activeTextEditor;
        const active = editor && vscode.workspace.getWorkspaceFolder(editor.document.uri)?.uri.toString();
        this.shownFolder = pickShownFolder(statuses, active, this.shownFolder);
        const shown = this.shownFolder !== undefined ? this.servers.get(this.shownFolder) : undefined;
        this.statusBar.apply(
            statusBarModel({
                backend: this.backend,
                shown: shown && {
                    status: shown,
                    folderName: this.folderName(shown.folder),
                    lastReloadAt: this.servers.lastReloadAt(shown.folder),
                },
                serverCount: statuses.length,
            }),
        );
        const keys = contextKeys(statuses, shown, this.backend.state === "ready");
        for (const [key, value] of Object.entries(keys) as [keyof ContextKeys, ContextKeys[keyof ContextKeys]][]) {
            if (this.contextKeyValues[key] === value) continue;
            (this.contextKeyValues as Record<string, unknown>)[key] = value;
            void vscode.commands.executeCommand("setContext", key, value);
        }
    }

    /** The folder the status bar shows, if any. */
    get shownServer(): Status | undefined {
        return this.shownFolder !== undefined ? this.servers.get(this.shownFolder) : undefined;
    }

    private isWorkspaceFolder(folder: string): boolean {
        return (vscode.workspace.workspaceFolders ?? []).some((f) => f.uri.toString() === folder);
    }

    folderName(folder: string): string {
        const uri = vscode.Uri.parse(folder);
        return vscode.workspace.getWorkspaceFolder(uri)?.name ?? uri.path.split("/").pop() ?? folder;
    }

    /** openBrowser opens a server URL, through the port forwarding of a remote window if needed. */
    async openBrowser(url: string): Promise<void> {
        const external = await vscode.env.asExternalUri(vscode.Uri.parse(url));
        await vscode.env.openExternal(external);
    }

    showLog(): void {
        this.log.show(true);
    }

    private setBackend(health: BackendHealth): void {
        this.backend = health;
        this.updateStatusBarItem();
    }

    private failBackend(message: string): void {
        this.log.error(message);
        this.setBackend({ state: "failed", message });
    }

    private async onBackendClosed(): Promise<lc.CloseHandlerResult> {
        if (this.limiter.recordCrash()) {
            this.log.warn("The backend stopped unexpectedly; restarting it.");
            return { action: lc.CloseAction.Restart, handled: true };
        }
        const message = `${this.limiter.describe()}, so it was not restarted. See the log for why.`;
        this.failBackend(message);
        void vscode.window
            .showErrorMessage(`Django Runserver: ${message}`, "Restart Backend", "Show Log")
            .then((choice) => {
                if (choice === "Restart Backend") void vscode.commands.executeCommand(Commands.restartBackend);
                if (choice === "Show Log") this.showLog();
            });
        return { action: lc.CloseAction.DoNotRestart, handled: true };
    }

    private onClientState(state: lc.State): void {
        switch (state) {
            case lc.State.Starting:
                // A restarted backend reports every folder afresh; old statuses would be lies.
                this.servers.clear();
                this.saveRegistrations.clear();
                this.settingDiagnostics.clear();
                if (this.backend.state !== "failed") this.setBackend({ state: "starting" });
                break;
            case lc.State.Running:
                this.setBackend({ state: "ready" });
                this.syncSaveRegistrations();
                break;
            case lc.State.Stopped:
                this.servers.clear();
                this.updateStatusBarItem();
                break;
        }
    }

    private onLog(params: LogParams): void {
        const line = `[${this.folderName(normalizeFolder(params.folder))}] ${params.text}`;
        // Django writes its request log to stderr, so stderr is not a sign of an error.
        this.log.info(line);
    }

    private onFoldersChanged(e: vscode.WorkspaceFoldersChangeEvent): void {
        for (const folder of e.removed) this.servers.delete(folder.uri.toString());
        this.syncSaveRegistrations();
        this.updateStatusBarItem();
        void this.onSettingsChanged(false);
    }

    /**
     * syncSaveRegistrations makes didSave cover folders added after the client started: the
     * documentSelector given at start-up names only the folders of that moment.
     */
    private syncSaveRegistrations(): void {
        const client = this.client;
        if (!client?.isRunning() || !client.initializeResult?.capabilities.textDocumentSync) return;
        const feature = client.getFeature(lc.DidSaveTextDocumentNotification.method);
        const current = new Map((vscode.workspace.workspaceFolders ?? []).map((f) => [f.uri.toString(), f]));
        for (const [uri, id] of this.saveRegistrations) {
            if (!current.has(uri)) {
                feature.unregister(id);
                this.saveRegistrations.delete(uri);
            }
        }
        for (const [uri, folder] of current) {
            if (this.initialSaveFolders.has(uri) || this.saveRegistrations.has(uri)) continue;
            const id = randomUUID();
            feature.register({ id, registerOptions: { documentSelector: [saveFilter(folder)] } });
            this.saveRegistrations.set(uri, id);
        }
    }

    /**
     * onSettingsChanged sends the new settings, then offers what applies them: a server restart
     * for settings a running server reads only at start, a backend restart for serverPath.
     */
    private async onSettingsChanged(serverPathChanged: boolean): Promise<void> {
        const before = this.config.lastPayload;
        const after = await this.config.payload();
        const client = this.client;
        if (client?.isRunning()) {
            await client.sendNotification(lc.DidChangeConfigurationNotification.type, { settings: after });
        }
        if (before) {
            const stale = this.servers
                .all()
                .filter((s) => s.state === "running" || s.state === "reloading" || s.state === "starting")
                .map((s) => ({ folder: s.folder, keys: changedRestartKeys(before, after, s.folder) }))
                .filter((s) => s.keys.length > 0);
            if (stale.length > 0) void this.offerServerRestart(stale);
        }
        if (serverPathChanged) {
            const choice = await vscode.window.showInformationMessage(
                `Django Runserver: ${settingId(restartBackendKey)} changed. Restart the backend to use it? Running servers will be stopped.`,
                "Restart Backend",
            );
            if (choice === "Restart Backend") await this.restart();
        }
    }

    private async offerServerRestart(stale: { folder: string; keys: string[] }[]): Promise<void> {
        const names = stale.map((s) => this.folderName(s.folder)).join(", ");
        const keys = [...new Set(stale.flatMap((s) => s.keys))].map(settingId).join(", ");
        const choice = await vscode.window.showInformationMessage(
            `Django Runserver: changed settings (${keys}) apply when the server of ${names} restarts.`,
            "Restart now",
        );
        if (choice !== "Restart now") return;
        for (const { folder } of stale) {
            try {
                await this.request(RestartRequest, { folder });
            } catch (err) {
                void vscode.window.showErrorMessage(`Django Runserver: could not restart ${this.folderName(folder)}: ${errorMessage(err)}`);
            }
        }
    }

    dispose(): void {
        for (const d of this.clientSubscriptions) d.dispose();
        this.clientSubscriptions = [];
        for (const d of this.extensionSubscriptions) d.dispose();
    }
}

export function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
