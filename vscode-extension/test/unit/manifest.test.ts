// Checks package.json's contributions against the code they must agree with.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { Commands } from "../../src/commandIds";
import { contextKeys } from "../../src/enablement";
import { backendKeys } from "../../src/settings";

// Compiled tests run from out/test/unit; package.json is at the extension's root.
const manifest = JSON.parse(readFileSync(path.join(__dirname, "..", "..", "..", "package.json"), "utf8"));

describe("package.json", () => {
    it("contributes every command, in the Django category", () => {
        const contributed = new Map<string, { category?: string }>(
            manifest.contributes.commands.map((c: { command: string }) => [c.command, c]),
        );
        for (const id of Object.values(Commands)) {
            assert.equal(contributed.get(id)?.category, "Django", id);
        }
        assert.equal(contributed.size, Object.values(Commands).length);
    });

    it("enables commands only through context keys the extension sets", () => {
        const known = new Set(Object.keys(contextKeys([], undefined, true)));
        const clauses: string[] = [
            ...manifest.contributes.commands.map((c: { enablement?: string }) => c.enablement ?? ""),
            ...manifest.contributes.menus.commandPalette.map((m: { when?: string }) => m.when ?? ""),
        ];
        for (const clause of clauses) {
            for (const key of clause.match(/djangoRunserver\.[A-Za-z]+/g) ?? []) {
                assert.ok(known.has(key), `${clause} names unknown context key ${key}`);
            }
        }
        const start = manifest.contributes.commands.find((c: { command: string }) => c.command === Commands.start);
        assert.equal(start.enablement, "djangoRunserver.canStart");
    });

    it("declares every setting with a description and a default", () => {
        const props = manifest.contributes.configuration.properties as Record<string, Record<string, unknown>>;
        const want = [...backendKeys, "openBrowser", "serverPath", "trace.server"].map((k) => `djangoRunserver.${k}`).sort();
        assert.deepEqual(Object.keys(props).sort(), want);
        for (const [key, prop] of Object.entries(props)) {
            assert.ok(prop.description || prop.markdownDescription, `${key} has no description`);
            assert.ok("default" in prop, `${key} has no default`);
        }
        assert.equal(props["djangoRunserver.address"].default, "127.0.0.1:8000");
        assert.equal(props["djangoRunserver.reload"].default, "fast");
        assert.deepEqual(props["djangoRunserver.reload"].enum, ["fast", "django", "off"]);
        assert.equal(props["djangoRunserver.onPortConflict"].default, "ask");
        assert.deepEqual(props["djangoRunserver.onPortConflict"].enum, ["ask", "nextFree", "fail"]);
        assert.equal(props["djangoRunserver.watch"].default, "auto");
        assert.deepEqual(props["djangoRunserver.watch"].enum, ["auto", "events", "poll"]);
        assert.equal(props["djangoRunserver.pollInterval"].default, 1);
        assert.equal(props["djangoRunserver.pollInterval"].minimum, 0.1);
        assert.equal(props["djangoRunserver.openBrowser"].default, false);
        assert.equal(props["djangoRunserver.python"].scope, "resource");
    });

    it("targets VS Code 1.91, the floor of vscode-languageclient 11", () => {
        assert.equal(manifest.engines.vscode, "^1.91.0");
        assert.equal(manifest.devDependencies["@types/vscode"], "1.91.0");
    });

    it("runs in the workspace, only when trusted, when a manage.py is there", () => {
        assert.deepEqual(manifest.extensionKind, ["workspace"]);
        assert.equal(manifest.capabilities.untrustedWorkspaces.supported, false);
        assert.ok(manifest.capabilities.untrustedWorkspaces.description);
        assert.ok(manifest.activationEvents.includes("workspaceContains:**/manage.py"));
        assert.ok(manifest.activationEvents.includes(`onCommand:${Commands.start}`));
    });
});
