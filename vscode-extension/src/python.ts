// The Python extension's active interpreter for each folder, when ms-python.python is installed.
// Without it every lookup answers undefined and the backend picks the interpreter itself
// (.venv/venv in the folder, else python3 on PATH).

import { PythonExtension, PVSC_EXTENSION_ID } from "@vscode/python-extension";
import * as vscode from "vscode";

/** How long activation of the Python extension may delay our start-up before we go on without it. */
const apiTimeoutMs = 15_000;

export class PythonInterpreters implements vscode.Disposable {
    private api?: PythonExtension;
    private readonly changed = new vscode.EventEmitter<void>();
    private readonly subscriptions: vscode.Disposable[] = [this.changed];

    /** Fires when the Python extension's interpreter changes for any folder. */
    readonly onDidChange = this.changed.event;

    constructor(private readonly log: vscode.LogOutputChannel) {}

    /** init connects to the Python extension, if it is installed; it never throws. */
    async init(): Promise<void> {
        if (this.api || !vscode.extensions.getExtension(PVSC_EXTENSION_ID)) return;
        try {
            const api = await Promise.race([
                PythonExtension.api(),
                new Promise<never>((_, reject) =>
                    setTimeout(() => reject(new Error(`no answer within ${apiTimeoutMs / 1000} s`)), apiTimeoutMs),
                ),
            ]);
            this.api = api;
            this.subscriptions.push(api.environments.onDidChangeActiveEnvironmentPath(() => this.changed.fire()));
        } catch (err) {
            this.log.warn(`The Python extension's interpreter is not used: ${err instanceof Error ? err.message : String(err)}`);
        }
    }

    /** interpreterFor returns the path of the folder's active interpreter, if the Python extension knows one. */
    async interpreterFor(folder: vscode.WorkspaceFolder): Promise<string | undefined> {
        if (!this.api) return undefined;
        try {
            const envPath = this.api.environments.getActiveEnvironmentPath(folder.uri);
            const resolved = await this.api.environments.resolveEnvironment(envPath);
            return resolved?.executable.uri?.fsPath ?? envPath.path;
        } catch (err) {
            this.log.warn(`Could not get the Python interpreter for ${folder.name}: ${err instanceof Error ? err.message : String(err)}`);
            return undefined;
        }
    }

    dispose(): void {
        for (const d of this.subscriptions) d.dispose();
    }
}
