// Reads the `djangoRunserver.*` settings from VS Code and builds what the backend is sent. The
// mapping itself is the pure settings.ts; this file is the VS Code adapter around it.

import * as vscode from "vscode";
import { PythonInterpreters } from "./python";
import { SettingsPayload } from "./protocol";
import { backendKeys, buildSettingsPayload, ExtensionSettings } from "./settings";

export const configSection = "djangoRunserver";

/** readSettings reads every setting, resolved for a folder when one is given. */
export function readSettings(scope?: vscode.Uri): ExtensionSettings {
    const config = vscode.workspace.getConfiguration(configSection, scope);
    const out: Record<string, unknown> = {};
    for (const key of [...backendKeys, "openBrowser", "serverPath"] as const) {
        out[key] = config.get(key);
    }
    return out as ExtensionSettings;
}

export class Config {
    private latest?: SettingsPayload;

    constructor(private readonly python: PythonInterpreters) {}

    /** payload reads the settings of every workspace folder now, and remembers the result. */
    async payload(): Promise<SettingsPayload> {
        const folders = vscode.workspace.workspaceFolders ?? [];
        const inputs = await Promise.all(
            folders.map(async (folder) => ({
                uri: folder.uri.toString(),
                settings: readSettings(folder.uri),
                interpreter: await this.python.interpreterFor(folder),
            })),
        );
        this.latest = buildSettingsPayload(readSettings(), inputs);
        return this.latest;
    }

    /** The payload last built, for initializationOptions (which the client reads synchronously). */
    get lastPayload(): SettingsPayload | undefined {
        return this.latest;
    }

    openBrowser(folder: vscode.Uri): boolean {
        return readSettings(folder).openBrowser === true;
    }

    serverPath(): string | undefined {
        return readSettings().serverPath || undefined;
    }
}
