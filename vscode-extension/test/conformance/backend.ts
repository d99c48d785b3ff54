// A test harness that runs the built django-runserver binary over stdio and talks to it with
// vscode-jsonrpc, the library VS Code's language client uses, and the extension's own protocol.ts.
// Waits are for conditions, each with a deadline; on a timeout the JSON-RPC transcript is printed.

import { ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import {
    ClientCapabilities,
    DidChangeStatusNotification,
    LogNotification,
    LogParams,
    MethodPublishDiagnostics,
    MethodShowDocument,
    PublishDiagnosticsParams,
    SettingsPayload,
    ShowDocumentParams,
    ShowDocumentResult,
    Status,
} from "../../src/protocol";

/** The repository root, from out/test/conformance/ inside vscode-extension/. */
export const repoRoot = path.resolve(__dirname, "..", "..", "..", "..");

export const backendBinary =
    process.env.DJANGO_RUNSERVER_BIN ?? path.join(repoRoot, "bin", process.platform === "win32" ? "django-runserver.exe" : "django-runserver");

/** Debian's python3 has python3-django; the python3 on PATH may not. */
export const python = process.env.DJANGO_RUNSERVER_PYTHON ?? "/usr/bin/python3";

/** copyProject copies a testdata project into a fresh temp dir, since tests edit its files. */
export function copyProject(name = "mysite"): { dir: string; uri: string; cleanup: () => void } {
    const parent = mkdtempSync(path.join(os.tmpdir(), "django-runserver-test-"));
    const dir = path.join(parent, name);
    cpSync(path.join(repoRoot, "testdata", name), dir, { recursive: true });
    return { dir, uri: pathToFileURL(dir).href, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

/** freePort asks the OS for a port nobody listens on. */
export async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

/** holdPort listens on a port, as another program would, until the returned function is called. */
export async function holdPort(port: number): Promise<() => Promise<void>> {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
    });
    return () => new Promise((resolve) => server.close(() => resolve()));
}

/** holdingPort runs body while another program listens on the port. */
export async function holdingPort<T>(port: number, body: () => Promise<T>): Promise<T> {
    const release = await holdPort(port);
    try {
        return await body();
    } finally {
        await release();
    }
}

/** portIsFree tells whether the port can be bound on loopback now. */
export async function portIsFree(port: number): Promise<boolean> {
    try {
        const release = await holdPort(port);
        await release();
        return true;
    } catch {
        return false;
    }
}

/** waitUntil polls an async condition until it holds or the deadline passes. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, describe?: () => string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) {
            const why = last instanceof Error ? ` (last error: ${last.message})` : "";
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${describe ? `\n${describe()}` : ""}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** httpGet fetches a URL and returns its status and body. */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
}

export interface ShowMessageRequestParams {
    type: number;
    message: string;
    actions?: { title: string }[];
}

/** Backend is one running backend process and the connection to it. */
export class Backend {
    readonly statuses: Status[] = [];
    readonly logs: LogParams[] = [];
    readonly diagnostics: PublishDiagnosticsParams[] = [];
    readonly messageRequests: ShowMessageRequestParams[] = [];
    readonly shownDocuments: ShowDocumentParams[] = [];
    readonly transcript: string[] = [];
    /** Answers window/showMessageRequest; the default dismisses it. */
    answerMessageRequest: (params: ShowMessageRequestParams) => { title: string } | null = () => null;

    private readonly events = new EventEmitter();
    private stderr = "";
    readonly exited: Promise<number | null>;

    private constructor(
        readonly process: ChildProcess,
        readonly connection: MessageConnection,
    ) {
        this.exited = new Promise((resolve) => process.once("exit", (code) => resolve(code)));
    }

    static start(): Backend {
        if (!existsSync(backendBinary)) {
            throw new Error(`No backend binary at ${backendBinary}. Build it first (npm run build), or set DJANGO_RUNSERVER_BIN.`);
        }
        const proc = spawn(backendBinary, ["--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
        const connection = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
        const backend = new Backend(proc, connection);
        proc.stderr!.on("data", (chunk: Buffer) => {
            backend.stderr += chunk.toString();
        });
        const record = (direction: string, method: string, params: unknown) => {
            backend.transcript.push(`${direction} ${method} ${JSON.stringify(params)}`);
            backend.events.emit("message");
        };
        connection.onNotification(DidChangeStatusNotification, (s) => {
            backend.statuses.push(s);
            record("<-", DidChangeStatusNotification.method, s);
        });
        connection.onNotification(LogNotification, (p) => {
            backend.logs.push(p);
            record("<-", LogNotification.method, p);
        });
        connection.onNotification(MethodPublishDiagnostics, (p: PublishDiagnosticsParams) => {
            backend.diagnostics.push(p);
            record("<-", "textDocument/publishDiagnostics", p);
        });
        connection.onNotification((method, params) => record("<-", method, params));
        connection.onRequest("window/showMessageRequest", (p: ShowMessageRequestParams) => {
            backend.messageRequests.push(p);
            record("<-", "window/showMessageRequest", p);
            return backend.answerMessageRequest(p);
        });
        connection.onRequest(MethodShowDocument, (p: ShowDocumentParams): ShowDocumentResult => {
            backend.shownDocuments.push(p);
            record("<-", MethodShowDocument, p);
            return { success: true };
        });
        connection.listen();
        return backend;
    }

    /** initialize runs the LSP handshake for one folder and returns the initialize result. */
    async initialize(folderUri: string, settings: SettingsPayload, capabilities: ClientCapabilities = {}): Promise<any> {
        const result = await this.request("initialize", {
            processId: process.pid,
            clientInfo: { name: "conformance-test" },
            rootUri: folderUri,
            workspaceFolders: [{ uri: folderUri, name: path.basename(new URL(folderUri).pathname) }],
            capabilities,
            initializationOptions: { settings },
        });
        await this.notify("initialized", {});
        return result;
    }

    async request<R = any>(method: string, params?: unknown): Promise<R> {
        this.transcript.push(`-> ${method} ${JSON.stringify(params)}`);
        const result = await this.connection.sendRequest<R>(method, params);
        this.transcript.push(`<- reply ${method} ${JSON.stringify(result)}`);
        return result;
    }

    async notify(method: string, params?: unknown): Promise<void> {
        this.transcript.push(`-> ${method} ${JSON.stringify(params)}`);
        await this.connection.sendNotification(method, params);
    }

    /** waitFor resolves with the first value `check` returns, re-checking on every message. */
    waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
        const now = check();
        if (now !== undefined) return Promise.resolve(now);
        return new Promise((resolve, reject) => {
            const onMessage = () => {
                const value = check();
                if (value !== undefined) {
                    done();
                    resolve(value);
                }
            };
            const timer = setTimeout(() => {
                done();
                reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`));
            }, timeoutMs);
            const done = () => {
                clearTimeout(timer);
                this.events.off("message", onMessage);
            };
            this.events.on("message", onMessage);
        });
    }

    /** waitForState waits for a status notification of a folder in one of the given states, after `from` earlier ones. */
    waitForState(folder: string, states: Status["state"][], from = 0, timeoutMs = 60_000): Promise<Status> {
        return this.waitFor(`${folder} to be ${states.join(" or ")}`, () =>
            this.statuses.slice(from).find((s) => s.folder === folder && states.includes(s.state)),
        timeoutMs);
    }

    /** describe is the JSON-RPC transcript and the backend's stderr, printed when a test fails. */
    describe(): string {
        return `--- JSON-RPC transcript ---\n${this.transcript.join("\n")}\n--- backend stderr ---\n${this.stderr}`;
    }

    /** shutdown runs the LSP shutdown and exit, and returns the exit code. */
    async shutdown(): Promise<number | null> {
        await this.request("shutdown");
        await this.notify("exit");
        const code = await Promise.race([
            this.exited,
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`backend did not exit\n${this.describe()}`)), 15_000)),
        ]);
        this.connection.dispose();
        return code;
    }

    /** kill ends the process if a test left it running. */
    kill(): void {
        if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGKILL");
        this.connection.dispose();
    }
}
