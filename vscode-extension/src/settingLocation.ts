// Where a setting is set. The backend reads no editor's files: it publishes a bind error on
// manage.py line 1 and names the setting in `data.setting`. This module finds the line of
// `.vscode/settings.json` or the `.code-workspace` file that sets `djangoRunserver.<setting>`, for
// settingDiagnostics.ts to move the diagnostic there. Pure (no `vscode` import), so it is unit
// tested.

import { Node, parseTree } from "jsonc-parser";
import { Position, Range } from "./protocol";
import { settingId } from "./settings";

/** A settings file that may set the setting, and where its settings object is. */
export interface SettingsFile {
    uri: string;
    /** The file's text; undefined when it does not exist or cannot be read. */
    text: string | undefined;
    /** The path of the settings object: [] in settings.json, ["settings"] in a .code-workspace file. */
    under: readonly string[];
}

/** Where a setting is set: the file, and the range of its `"key": value` property. */
export interface SettingLocation {
    uri: string;
    range: Range;
}

/**
 * settingRange finds the `"djangoRunserver.<key>": value` property in a settings file's text, JSON
 * with comments and trailing commas as VS Code writes and reads it. When a key is repeated the last
 * one wins, as in VS Code.
 */
export function settingRange(text: string, key: string, under: readonly string[] = []): Range | undefined {
    let node = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
    for (const name of under) {
        node = property(node, name)?.children?.[1];
    }
    const found = property(node, settingId(key));
    if (!found) return undefined;
    return { start: positionAt(text, found.offset), end: positionAt(text, found.offset + found.length) };
}

/** property returns the last property of an object node with the given key. */
function property(object: Node | undefined, key: string): Node | undefined {
    if (object?.type !== "object") return undefined;
    let found: Node | undefined;
    for (const prop of object.children ?? []) {
        if (prop.children?.[0]?.value === key && prop.children.length === 2) found = prop;
    }
    return found;
}

function positionAt(text: string, offset: number): Position {
    const before = text.slice(0, offset);
    const line = (before.match(/\r\n|\r|\n/g) ?? []).length;
    const lineStart = Math.max(before.lastIndexOf("\n"), before.lastIndexOf("\r")) + 1;
    return { line, character: offset - lineStart };
}

/**
 * locateSetting returns the first of the files, in the order given, that sets the key. Give them
 * in VS Code's order of precedence: the folder's `.vscode/settings.json`, then the workspace file.
 */
export function locateSetting(files: readonly SettingsFile[], key: string): SettingLocation | undefined {
    for (const file of files) {
        if (file.text === undefined) continue;
        const range = settingRange(file.text, key, file.under);
        if (range) return { uri: file.uri, range };
    }
    return undefined;
}
