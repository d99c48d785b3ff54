// The "Django" commands. Each takes an optional folder URI (the status bar and tooltip links pass
// one); without it, the command applies to the only folder it makes sense for, or asks which.

import * as vscode from "vscode";
import { Commands } from "./commandIds";
import { Ctx, errorMessage, normalizeFolder } from "./ctx";
import { canDebug, canOpenBrowser, canRestart, canStart, canStop, toggleAction } from "./enablement";
import { RestartRequest, StartRequest, Status, StopRequest } from "./protocol";

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
    const register = (id: string, run: (arg?: unknown) => Promise<unknown> | void) =>
        vscode.commands.registerCommand(id, async (arg?: unknown) => {
            try {
                await run(arg);
            } catch (err) {
                void vscode.window.showErrorMessage(`Django Runserver: ${errorMessage(err)}`);
            }
        });
    return [
        register(Commands.start, async (arg) => {
            const folder = await pickFolder(ctx, arg, (s) => canStart(s.state), "Run the Django server of which folder?");
            if (folder) await ctx.request(StartRequest, { folder });
        }),
        register(Commands.debug, async (arg) => {
            const folder = await pickFolder(ctx, arg, canDebug, "Debug the Django server of which folder?");
            if (folder) await ctx.request(StartRequest, { folder, debug: true });
        }),
        register(Commands.stop, async (arg) => {
            const folder = await pickFolder(ctx, arg, (s) => canStop(s.state), "Stop the Django server of which folder?");
            if (folder) await ctx.request(StopRequest, { folder });
        }),
        register(Commands.restart, async (arg) => {
            const folder = await pickFolder(ctx, arg, (s) => canRestart(s.state), "Restart the Django server of which folder?");
            if (folder) await ctx.request(RestartRequest, { folder });
        }),
        register(Commands.openBrowser, async (arg) => {
            const folder = await pickFolder(ctx, arg, canOpenBrowser, "Open the site of which folder?");
            const url = folder && ctx.servers.get(folder)?.url;
            if (url) await ctx.openBrowser(url);
            else if (folder) throw new Error(`The Django server of ${ctx.folderName(folder)} is not running.`);
        }),
        register(Commands.showLog, () => ctx.showLog()),
        register(Commands.restartBackend, () => ctx.restart()),
        register(Commands.toggle, async (arg) => {
            const folder = folderArg(arg) ?? ctx.shownServer?.folder;
            const status = folder && ctx.servers.get(folder);
            if (!status) return;
            const action = toggleAction(status.state);
            if (action === "start") await ctx.request(StartRequest, { folder: status.folder });
            if (action === "stop") await ctx.request(StopRequest, { folder: status.folder });
        }),
    ];
}

/** folderArg reads a folder URI passed to a command: a string from our links, or a Uri from a menu. */
function folderArg(arg: unknown): string | undefined {
    if (typeof arg === "string" && arg) return normalizeFolder(arg);
    if (arg instanceof vscode.Uri) {
        return vscode.workspace.getWorkspaceFolder(arg)?.uri.toString();
    }
    return undefined;
}

/**
 * pickFolder returns the folder a command applies to: the one passed in, else the only folder
 * whose server the command fits, else the user's choice among them. undefined means "nothing to do".
 */
async function pickFolder(ctx: Ctx, arg: unknown, applies: (s: Status) => boolean, question: string): Promise<string | undefined> {
    const explicit = folderArg(arg);
    if (explicit) return explicit;
    const candidates = ctx.servers.all().filter(applies);
    if (candidates.length === 0) {
        void vscode.window.showInformationMessage("Django Runserver: no folder's server is in a state where that applies.");
        return undefined;
    }
    if (candidates.length === 1) return candidates[0].folder;
    const shown = ctx.shownServer?.folder;
    candidates.sort((a, b) => Number(b.folder === shown) - Number(a.folder === shown));
    const picked = await vscode.window.showQuickPick(
        candidates.map((s) => ({
            label: ctx.folderName(s.folder),
            description: s.state === "running" && s.url ? `running on ${s.url}` : s.state,
            detail: vscode.Uri.parse(s.folder).fsPath,
            folder: s.folder,
        })),
        { placeHolder: question },
    );
    return picked?.folder;
}
