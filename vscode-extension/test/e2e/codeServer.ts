// Runs real VS Code (code-server, installed by install-code-server.sh beside this file) with the
// packaged extension installed, and headless Debian Chromium (through playwright-core) pointed at it.

import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { BrowserContext, chromium, Page } from "playwright-core";
import { freePort, repoRoot, waitUntil } from "../conformance/backend";

export const codeServerDir = process.env.CODE_SERVER_DIR ?? path.join(repoRoot, ".cache", "code-server");
const entry = path.join(codeServerDir, "node_modules", "code-server", "out", "node", "entry.js");
/** The installer beside this file; compiled tests run from out/test/e2e, the script stays in test/e2e. */
const installScript = path.join(repoRoot, "vscode-extension", "test", "e2e", "install-code-server.sh");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** installCodeServer installs code-server (and Chromium, through apt) unless already there. */
export function installCodeServer(): void {
    if (existsSync(entry) && existsSync(chromiumPath)) return;
    execFileSync("bash", [installScript, codeServerDir], { stdio: "inherit" });
}

/** installExtension installs a VSIX into an extensions folder with code-server's own CLI. */
export function installExtension(vsix: string, extensionsDir: string, userDataDir: string): void {
    execFileSync(
        process.execPath,
        [entry, "--extensions-dir", extensionsDir, "--user-data-dir", userDataDir, "--install-extension", vsix, "--force"],
        { stdio: "inherit" },
    );
}

/** Settings that make typing into the editor land exactly as typed, and keep the window quiet. */
export const userSettings = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "chat.commandCenter.enabled": false,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "security.workspace.trust.enabled": false,
    "files.autoSave": "off",
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.autoSurround": "never",
    "editor.autoIndent": "none",
    "editor.formatOnType": false,
    "editor.quickSuggestions": { other: false, comments: false, strings: false },
    "editor.suggestOnTriggerCharacters": false,
    "editor.acceptSuggestionOnEnter": "off",
    "editor.wordBasedSuggestions": "off",
    "editor.parameterHints.enabled": false,
    "editor.minimap.enabled": false,
    "window.commandCenter": false,
};

export function writeUserSettings(userDataDir: string): void {
    mkdirSync(path.join(userDataDir, "User"), { recursive: true });
    writeFileSync(path.join(userDataDir, "User", "settings.json"), JSON.stringify(userSettings, null, 2));
}

export class CodeServer {
    private output = "";

    private constructor(
        private readonly proc: ChildProcess,
        readonly url: string,
        private readonly userDataDir: string,
    ) {
        const keep = (chunk: Buffer) => {
            this.output += chunk.toString();
        };
        proc.stdout!.on("data", keep);
        proc.stderr!.on("data", keep);
    }

    static async start(folder: string, userDataDir: string, extensionsDir: string): Promise<CodeServer> {
        const port = await freePort();
        const proc = spawn(
            process.execPath,
            [
                entry,
                "--auth", "none",
                "--bind-addr", `127.0.0.1:${port}`,
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--user-data-dir", userDataDir,
                "--extensions-dir", extensionsDir,
                folder,
            ],
            { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } },
        );
        const server = new CodeServer(proc, `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`, userDataDir);
        await waitUntil("code-server to answer", async () => {
            const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
            return res.ok ? true : undefined;
        }, 60_000, () => server.log());
        return server;
    }

    log(): string {
        return this.output;
    }

    /** extensionLogs returns the extension's output channels, as VS Code wrote them to disk. */
    extensionLogs(): string {
        return this.logFiles((p, name) => /Django Runserver|djangoRunserver|django-runserver/i.test(p) || name === "exthost.log")
            .map(({ file, text }) => `--- ${path.relative(this.userDataDir, file)} ---\n${text.slice(-20_000)}`)
            .join("\n");
    }

    /** outputChannel returns the whole of one output channel of the extension, as written to disk so far. */
    outputChannel(name: string): string {
        const wanted = (file: string) => file === `${name}.log` || file.endsWith(`-${name}.log`);
        return this.logFiles((_, file) => wanted(file)).map(({ text }) => text).join("\n");
    }

    /** logFiles reads the files under VS Code's logs folder that `match` picks. */
    private logFiles(match: (file: string, name: string) => boolean): { file: string; text: string }[] {
        const found: { file: string; text: string }[] = [];
        const walk = (dir: string) => {
            if (!existsSync(dir)) return;
            for (const name of readdirSync(dir)) {
                const p = path.join(dir, name);
                if (statSync(p).isDirectory()) walk(p);
                else if (match(p, name)) found.push({ file: p, text: readFileSync(p, "utf8") });
            }
        };
        walk(path.join(this.userDataDir, "logs"));
        return found;
    }

    async stop(): Promise<void> {
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
        const exited = new Promise((resolve) => this.proc.once("exit", resolve));
        this.proc.kill("SIGTERM");
        const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
    }
}

/** The flags headless Chromium needs on this machine. */
const chromiumFlags = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/** openBrowser starts headless Chromium with a fresh profile, flags this machine needs. */
export async function openBrowser(profileDir: string): Promise<{ page: Page; close: () => Promise<void> }> {
    const browser: BrowserContext = await chromium.launchPersistentContext(profileDir, {
        executablePath: chromiumPath,
        headless: true,
        viewport: { width: 1440, height: 900 },
        // A click on a traceback frame copies file:line where no editor opens it; the test reads it back.
        permissions: ["clipboard-read", "clipboard-write"],
        args: chromiumFlags,
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    return { page, close: () => browser.close() };
}

/**
 * openTabbedBrowser starts headless Chromium whose tabs hide as a desktop browser's do: a page behind
 * another tab is document.hidden. Playwright's own launch emulates focus, which keeps every page
 * visible; so Chromium is started here and attached to without Playwright's defaults. A new page
 * of `context` opens as a tab in front; `bringToFront` shows a page again. close ends Chromium and
 * waits for it to exit.
 */
export async function openTabbedBrowser(profileDir: string): Promise<{ context: BrowserContext; page: Page; close: () => Promise<void> }> {
    const proc = spawn(chromiumPath, [...chromiumFlags, "--window-size=1440,900", "--remote-debugging-port=0", `--user-data-dir=${profileDir}`, "about:blank"], {
        stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    const stop = async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
        await exited;
    };
    let log = "";
    proc.stderr!.on("data", (b: Buffer) => (log = (log + b.toString()).slice(-20_000)));
    try {
        const endpoint = await waitUntil("Chromium to listen for DevTools", async () => {
            if (proc.exitCode !== null) throw new Error(`Chromium exited with ${proc.exitCode}`);
            return /DevTools listening on (ws:\S+)/.exec(log)?.[1];
        }, 30_000, () => `Chromium's log ends:\n${log.slice(-2000)}`);
        const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
        const context = browser.contexts()[0];
        const page = context.pages()[0] ?? (await context.newPage());
        return { context, page, close: async () => { await browser.close().catch(() => {}); await stop(); } };
    } catch (err) {
        await stop();
        throw err;
    }
}

