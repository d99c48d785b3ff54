// Moves the backend's diagnostics about a setting to the line that sets it, as the language
// client's handleDiagnostics middleware. Finding the line is settingLocation.ts and keeping moved
// diagnostics in step is diagnosticRouter.ts; this file reads the settings files and turns their
// answers into VS Code diagnostics.

import { readFileSync } from "node:fs";
import * as vscode from "vscode";
import { DiagnosticData } from "./protocol";
import { DiagnosticRouter, Placement } from "./diagnosticRouter";
import { locateSetting, SettingsFile } from "./settingLocation";
import { settingPointer } from "./settings";

export class SettingDiagnostics {
    private readonly router = new DiagnosticRouter<vscode.Diagnostic>();

    /** handle is the middleware: it publishes each file whose diagnostics changed through `next`. */
    handle(uri: vscode.Uri, diagnostics: vscode.Diagnostic[], next: (uri: vscode.Uri, diagnostics: vscode.Diagnostic[]) => void): void {
        const uris = new Map<string, vscode.Uri>([[uri.toString(), uri]]);
        const changed = this.router.publish(uri.toString(), diagnostics, (d) => {
            const placed = place(uri, d);
            if (placed) uris.set(placed.uri, vscode.Uri.parse(placed.uri));
            return placed;
        });
        for (const [target, list] of changed) next(uris.get(target) ?? vscode.Uri.parse(target), list);
    }

    /** clear forgets where diagnostics went, when the client's own are cleared (it stopped). */
    clear(): void {
        this.router.clear();
    }
}

/**
 * place moves a diagnostic about a setting to where the folder's settings set it. When no settings
 * file does (the default, or user settings), it stays and says which setting to change.
 */
function place(source: vscode.Uri, d: vscode.Diagnostic): Placement<vscode.Diagnostic> | undefined {
    const setting = (d as { data?: DiagnosticData }).data?.setting;
    if (!setting) return undefined;
    const found = locateSetting(settingsFiles(source), setting);
    if (!found) {
        return { uri: source.toString(), diagnostic: copy(d, d.range, `${d.message} ${settingPointer(setting)}`) };
    }
    const { start, end } = found.range;
    return { uri: found.uri, diagnostic: copy(d, new vscode.Range(start.line, start.character, end.line, end.character), d.message) };
}

/** settingsFiles lists the files that can set a setting for a file's folder, the winning one first. */
function settingsFiles(uri: vscode.Uri): SettingsFile[] {
    const files: SettingsFile[] = [];
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder) files.push(settingsFile(vscode.Uri.joinPath(folder.uri, ".vscode", "settings.json"), []));
    const workspaceFile = vscode.workspace.workspaceFile;
    if (workspaceFile?.scheme === "file") files.push(settingsFile(workspaceFile, ["settings"]));
    return files;
}

/** settingsFile reads a settings file as the editor has it: unsaved edits count. */
function settingsFile(uri: vscode.Uri, under: string[]): SettingsFile {
    const open = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === uri.toString());
    let text: string | undefined = open?.getText();
    if (text === undefined) {
        try {
            text = readFileSync(uri.fsPath, "utf8");
        } catch {
            // No such file: nothing set there.
        }
    }
    return { uri: uri.toString(), text, under };
}

function copy(d: vscode.Diagnostic, range: vscode.Range, message: string): vscode.Diagnostic {
    const out = new vscode.Diagnostic(range, message, d.severity);
    out.code = d.code;
    out.source = d.source;
    out.tags = d.tags;
    out.relatedInformation = d.relatedInformation;
    return out;
}
