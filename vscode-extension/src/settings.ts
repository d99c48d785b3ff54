// Maps the extension's `djangoRunserver.*` settings to what the backend reads (protocol Settings).
// Pure: the VS Code side (config.ts) reads the values and hands them in, so this is unit tested.

import { FolderSettingsSection, SettingEffect, SettingEffects, Settings, SettingsPayload, SettingsSection } from "./protocol";

/** Every `djangoRunserver.*` setting, as VS Code's configuration returns it. */
export interface ExtensionSettings extends Settings {
    /** Extension-only: open the browser when the server first becomes running. */
    openBrowser?: boolean;
    /** Extension-only: a backend binary to use instead of the bundled one. */
    serverPath?: string;
}

/** The keys the backend reads, in the order of protocol.go (and of protocol/README.md's table). */
export const backendKeys = Object.keys(SettingEffects) as readonly (keyof Settings)[];

/**
 * Keys whose change reaches a running server only when it restarts: the user is offered a restart.
 * protocol.go's SettingEffects says which; the backend applies the others at once or when next
 * needed.
 */
export const restartServerKeys = backendKeys.filter((key) => SettingEffects[key] === SettingEffect.Restart);

/** settingId is the VS Code setting that holds a key of the backend's settings. */
export function settingId(key: string): string {
    return `${SettingsSection}.${key}`;
}

/**
 * settingPointer is the sentence added to an error about a setting. The backend's messages name no
 * editor's setting; this says which of VS Code's the user can change.
 */
export function settingPointer(key: string): string {
    return `Setting: ${settingId(key)}.`;
}

/** The key whose change needs a new backend process. */
export const restartBackendKey = "serverPath";

/** String settings whose default is "": empty means "not set", so the backend picks its default. */
const emptyMeansUnset: ReadonlySet<string> = new Set(["python", "managePy", "envFile"]);

/**
 * toBackendSettings keeps the keys the backend reads. Values are passed through unchanged, even of
 * the wrong type: the backend refuses those with an `invalid-settings` error that names the key,
 * which tells the user more than silently dropping them here would.
 *
 * `interpreter` is the Python extension's interpreter for the folder; an explicit `python` wins.
 */
export function toBackendSettings(raw: ExtensionSettings, interpreter?: string): Settings {
    const out: Record<string, unknown> = {};
    for (const key of backendKeys) {
        const value = raw[key];
        if (value === undefined || value === null) continue;
        if (emptyMeansUnset.has(key) && value === "") continue;
        out[key] = value;
    }
    if (out.python === undefined && interpreter) out.python = interpreter;
    return out as Settings;
}

/** One workspace folder's resolved settings, and the Python extension's interpreter for it. */
export interface FolderSettingsInput {
    uri: string;
    settings: ExtensionSettings;
    interpreter?: string;
}

/**
 * buildSettingsPayload builds `settings` of initializationOptions and of
 * workspace/didChangeConfiguration: the global values, and each folder's resolved values.
 */
export function buildSettingsPayload(global: ExtensionSettings, folders: readonly FolderSettingsInput[]): SettingsPayload {
    const perFolder: Record<string, Settings> = {};
    for (const folder of folders) {
        perFolder[folder.uri] = toBackendSettings(folder.settings, folder.interpreter);
    }
    return { [SettingsSection]: toBackendSettings(global), [FolderSettingsSection]: perFolder };
}

/** The effective settings of a folder in a payload: its own section, else the global one. */
function effective(payload: SettingsPayload, folder: string): Settings {
    return payload[FolderSettingsSection]?.[folder] ?? payload[SettingsSection];
}

/**
 * changedRestartKeys lists the settings that differ between two payloads for a folder and that a
 * running server picks up only when restarted. The Python extension's interpreter counts as
 * `python`, so switching interpreters offers a restart too.
 */
export function changedRestartKeys(before: SettingsPayload, after: SettingsPayload, folder: string): string[] {
    const a = effective(before, folder);
    const b = effective(after, folder);
    return restartServerKeys.filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}
