// Entry point: one Ctx per window runs one backend for all workspace folders.

import * as vscode from "vscode";
import { registerCommands } from "./commands";
import { Ctx } from "./ctx";

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    ctx = new Ctx(context);
    context.subscriptions.push(ctx, ...registerCommands(ctx));
    await ctx.start();
}

export async function deactivate(): Promise<void> {
    // Stopping the backend stops every Django server it runs, and frees their ports.
    await ctx?.stop();
    ctx = undefined;
}
