// Finds the django-runserver backend: the `djangoRunserver.serverPath` setting, else the binary
// bundled in the platform's VSIX under bin/<platform>-<arch>/.

import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

const exeName = process.platform === "win32" ? "django-runserver.exe" : "django-runserver";

/** The VSIX target this extension host runs on, e.g. "linux-x64", "darwin-arm64", "win32-x64". */
export function platformTarget(): string {
    return `${process.platform}-${process.arch}`;
}

export function bundledServerPath(extensionPath: string): string {
    return path.join(extensionPath, "bin", platformTarget(), exeName);
}

/** resolveServerPath returns the backend to run, or throws an error that says what to do. */
export async function resolveServerPath(extensionPath: string, configured: string | undefined): Promise<string> {
    if (configured) {
        const expanded = configured.startsWith("~") ? path.join(os.homedir(), configured.slice(1)) : configured;
        try {
            await fs.access(expanded, fs.constants.X_OK);
        } catch {
            throw new Error(
                `The backend set in djangoRunserver.serverPath, ${expanded}, does not exist or is not executable. Fix the setting, or clear it to use the bundled backend.`,
            );
        }
        return expanded;
    }
    const bundled = bundledServerPath(extensionPath);
    try {
        await fs.access(bundled, fs.constants.X_OK);
    } catch {
        try {
            // An archive tool may drop the executable bit; restore it rather than fail.
            await fs.chmod(bundled, 0o755);
        } catch {
            throw new Error(
                `This build of the extension has no backend for ${platformTarget()}. Install the VSIX built for your platform, or set djangoRunserver.serverPath to a django-runserver binary.`,
            );
        }
    }
    return bundled;
}
