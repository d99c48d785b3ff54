// What the status bar item shows: text, colour, tooltip and click, computed from the backend's
// health and the shown folder's Status. Pure (no `vscode` import), so every state is unit tested;
// statusBar.ts applies the result to the real item.

import { Commands, openSettingsCommand } from "./commandIds";
import { debugWords } from "./debugConfig";
import { canDebug, canOpenBrowser, canRestart, canStop, toggleAction } from "./enablement";
import { ErrorCode, ServerError, Status } from "./protocol";
import { settingId } from "./settings";

/** The backend process, as the language client sees it. */
export type BackendHealth =
    | { state: "starting" }
    | { state: "ready" }
    /** Stopped for good: too many crashes, failed initialization, or a missing binary. */
    | { state: "failed"; message: string };

/** A folder's server as the status bar needs it. */
export interface ServerView {
    status: Status;
    /** The workspace folder's name. */
    folderName: string;
    /** Wall-clock time (ms since the epoch) when the latest reload finished. */
    lastReloadAt?: number;
}

export interface StatusBarInput {
    backend: BackendHealth;
    /** The server to show: the active editor's folder's, or the only one. */
    shown?: ServerView;
    /** How many folders can run a server; with more than one the text names the folder. */
    serverCount: number;
}

export const errorBackground = "statusBarItem.errorBackground";

export interface StatusBarModel {
    visible: boolean;
    text: string;
    /** A trusted Markdown tooltip whose `command:` links run our commands. */
    tooltip: string;
    /** A theme colour id for the background, or none. */
    backgroundColor?: typeof errorBackground;
    command?: { command: string; arguments: unknown[] };
    accessibilityLabel: string;
}

const spinner = "$(loading~spin)";

/** commandLink builds a Markdown link that runs a command with the given arguments. */
export function commandLink(label: string, command: string, args: unknown[] = []): string {
    const query = args.length ? `?${encodeURIComponent(JSON.stringify(args))}` : "";
    return `[${label}](command:${command}${query})`;
}

/** escapeMarkdown keeps folder names and messages from being read as Markdown. */
export function escapeMarkdown(text: string): string {
    return text.replace(/[\\`*_{}[\]()<>#+\-.!|]/g, "\\$&");
}

function baseName(path: string): string {
    const parts = path.split(/[\\/]/);
    return parts[parts.length - 1] || path;
}

/** portOf returns the port a status listens on, from its URL or else its address. */
export function portOf(status: Pick<Status, "url" | "address">): string | undefined {
    if (status.url) {
        try {
            const url = new URL(status.url);
            if (url.port) return url.port;
        } catch {
            // Not a URL: fall back to the address.
        }
    }
    const match = /(\d+)$/.exec(status.address ?? "");
    return match?.[1];
}

/** The few words the status bar shows for each error code. */
const reasons: Record<ErrorCode, (error: ServerError) => string> = {
    [ErrorCode.PortInUse]: (e) => (e.port ? `Port ${e.port} in use` : "Port in use"),
    [ErrorCode.PermissionDenied]: (e) => (e.port ? `Port ${e.port} needs privileges` : "Permission denied"),
    [ErrorCode.StartupFailed]: (e) => {
        const where = e.file ? `${baseName(e.file)}${e.line ? `:${e.line}` : ""}` : "";
        return [e.exception ?? "Startup failed", where].filter(Boolean).join(" ");
    },
    [ErrorCode.Crashed]: (e) => (e.exitCode !== undefined ? `Crashed (exit ${e.exitCode})` : "Crashed"),
    [ErrorCode.PythonNotFound]: () => "Python not found",
    [ErrorCode.ManagePyNotFound]: () => "manage.py not found",
    [ErrorCode.DjangoNotFound]: () => "Django not installed",
    [ErrorCode.AddressUnavailable]: () => "Address unavailable",
    [ErrorCode.InvalidAddress]: () => "Invalid address",
    [ErrorCode.InvalidSettings]: () => "Invalid settings",
    [ErrorCode.StartupTimeout]: () => "Startup timed out",
    [ErrorCode.FolderGone]: () => "Folder gone",
    [ErrorCode.DebugpyNotFound]: () => "debugpy not installed",
};

/** failureReason is the few words the status bar shows for a failed server. */
export function failureReason(error: ServerError | undefined): string {
    // A newer backend may send a code this extension does not know yet.
    if (!error || !Object.hasOwn(reasons, error.code)) return "Failed";
    return reasons[error.code](error);
}

/** settingLink is a tooltip line that names the setting an error concerns and opens it. */
export function settingLink(key: string): string {
    const id = settingId(key);
    return `Setting: ${commandLink(escapeMarkdown(id), openSettingsCommand, [id])}`;
}

function clock(ms: number): string {
    const d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function serverTooltip(view: ServerView): string {
    const { status, folderName } = view;
    const lines: string[] = [`**Django server: ${status.state}** · ${escapeMarkdown(folderName)}`, ""];
    const facts: string[] = [];
    if (status.url) facts.push(`URL: ${status.url}`);
    else facts.push(`Address: ${escapeMarkdown(status.address)}`);
    if (status.pid) facts.push(`PID: ${status.pid}`);
    let reloads = `Reloads: ${status.reloads}`;
    if (status.reloads > 0 && status.lastReloadMs !== undefined) {
        reloads += ` · last took ${Math.round(status.lastReloadMs)} ms`;
        if (status.trigger) {
            const what = status.trigger.path ? ` ${escapeMarkdown(baseName(status.trigger.path))}` : "";
            reloads += ` (${status.trigger.kind}${what})`;
        }
        if (status.start) reloads += `, ${status.start}`;
    }
    if (view.lastReloadAt !== undefined) reloads += ` at ${clock(view.lastReloadAt)}`;
    facts.push(reloads);
    if (status.reloads > 0 && status.start === "cold" && status.coldReason) {
        facts.push(`Cold because ${escapeMarkdown(status.coldReason)}`);
    }
    if (status.mode) facts.push(`Reload mode: ${status.mode}`);
    if (status.watch) facts.push(`Watch mode: ${status.watch}`);
    if (status.browserReload) facts.push("Browser reload: on, open pages reload themselves");
    if (status.browserReloadNote) facts.push(`$(warning) ${escapeMarkdown(status.browserReloadNote)}`);
    // The backend's note already says why requests during a reload can fail.
    for (const off of status.runserver?.off ?? []) {
        if (off.feature === "browserReload") facts.push(`$(warning) Browser reload: off, because ${escapeMarkdown(off.reason)}`);
    }
    if (status.debug) {
        const where = status.debug.port ? ` on ${status.debug.host ?? "127.0.0.1"}:${status.debug.port}` : "";
        facts.push(`Debugger${where}: ${debugWords(status)}`);
        if (status.debug.reloadPending) facts.push("A change waits until execution continues; Restart applies it now.");
    }
    // Two trailing spaces make a Markdown line break.
    lines.push(facts.join("  \n"));
    if (status.state === "failed" && status.error) {
        lines.push("", `$(error) ${escapeMarkdown(status.error.message)}`);
        if (status.error.setting) lines.push("", settingLink(status.error.setting));
    }
    const folder = [status.folder];
    const links: string[] = [];
    const action = toggleAction(status.state);
    if (action === "start") links.push(commandLink("$(play) Run Server", Commands.start, folder));
    if (canDebug(status)) links.push(commandLink("$(debug-alt) Debug Server", Commands.debug, folder));
    if (canOpenBrowser(status)) links.push(commandLink("$(globe) Open in Browser", Commands.openBrowser, folder));
    if (canRestart(status.state)) links.push(commandLink("$(debug-restart) Restart", Commands.restart, folder));
    if (canStop(status.state)) links.push(commandLink("$(debug-stop) Stop", Commands.stop, folder));
    links.push(commandLink("$(output) Show Log", Commands.showLog));
    lines.push("", "---", "", links.join(" · "));
    return lines.join("\n");
}

/** statusBarModel computes everything the status bar item shows. */
export function statusBarModel(input: StatusBarInput): StatusBarModel {
    const { backend, shown } = input;
    if (backend.state === "failed") {
        return {
            visible: true,
            text: "$(error) Django",
            backgroundColor: errorBackground,
            tooltip: [
                "**Django Runserver backend stopped**",
                "",
                escapeMarkdown(backend.message),
                "",
                "---",
                "",
                [commandLink("$(debug-restart) Restart Backend", Commands.restartBackend), commandLink("$(output) Show Log", Commands.showLog)].join(" · "),
            ].join("\n"),
            command: { command: Commands.showLog, arguments: [] },
            accessibilityLabel: `Django Runserver backend stopped: ${backend.message}`,
        };
    }
    if (!shown) {
        // Before the backend reports the folders, show that it is coming; afterwards, with no
        // manage.py anywhere, stay out of the way.
        const starting = backend.state === "starting";
        return {
            visible: starting,
            text: `${spinner} Django`,
            tooltip: "Django Runserver is starting…",
            accessibilityLabel: "Django Runserver is starting",
        };
    }

    const { status } = shown;
    const prefix = input.serverCount > 1 ? `${shown.folderName} ` : "";
    const port = portOf(status);
    const folderArgs = [status.folder];
    const click = (() => {
        const action = toggleAction(status.state);
        return action === "none" ? undefined : { command: Commands.toggle, arguments: folderArgs };
    })();
    const model = (text: string, label: string, backgroundColor?: typeof errorBackground): StatusBarModel => ({
        visible: true,
        text,
        tooltip: serverTooltip(shown),
        backgroundColor,
        command: click,
        accessibilityLabel: `${prefix}${label}`,
    });

    switch (status.state) {
        case "stopped":
            return model(`$(play) ${prefix}Run Server`, "Django server stopped. Click to run it.");
        case "starting":
            return model(`${spinner} ${prefix}Starting…`, "Django server starting. Click to stop it.");
        case "reloading":
            return model(`${spinner} ${prefix}Reloading…`, "Django server reloading. Click to stop it.");
        case "stopping":
            return model(`${spinner} ${prefix}Stopping…`, "Django server stopping.");
        case "running":
            if (status.debug) {
                const words = debugWords(status);
                const icon = status.debug.paused ? "$(debug-pause)" : "$(debug-alt)";
                return model(
                    `${icon} ${prefix}:${port ?? status.address}${status.debug.paused ? ` ${words}` : ""}`,
                    `Django server running under the debugger on ${status.url ?? status.address}, ${words}. Click to stop it.`,
                );
            }
            return model(
                `$(radio-tower) ${prefix}:${port ?? status.address}`,
                `Django server running on ${status.url ?? status.address}. Click to stop it.`,
            );
        case "failed": {
            const reason = failureReason(status.error);
            return model(`$(error) ${prefix}${reason}`, `Django server failed: ${reason}. Click to retry.`, errorBackground);
        }
    }
}

/**
 * pickShownFolder chooses which folder's server the status bar shows: the active editor's folder,
 * else the one shown before, else one that is not stopped (it is what the user is working with),
 * else the first.
 */
export function pickShownFolder(
    statuses: readonly Status[],
    activeFolder: string | undefined,
    previous: string | undefined,
): string | undefined {
    const has = (uri: string | undefined) => uri !== undefined && statuses.some((s) => s.folder === uri);
    if (has(activeFolder)) return activeFolder;
    if (has(previous)) return previous;
    return (statuses.find((s) => s.state !== "stopped") ?? statuses[0])?.folder;
}
