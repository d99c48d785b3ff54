import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DiagnosticRouter, locateSetting, Placement, settingRange } from "../../src/settingDiagnostics";

describe("settingRange", () => {
    it("finds the property's line and span in settings.json with comments and a trailing comma", () => {
        const text = [
            "{",
            "    // Which interpreter: \"djangoRunserver.address\" in a comment is not the setting.",
            '    "python.defaultInterpreterPath": "djangoRunserver.address",',
            "    /* the port */",
            '    "djangoRunserver.address": "127.0.0.1:8001",',
            "}",
        ].join("\n");
        assert.deepEqual(settingRange(text, "address"), {
            start: { line: 4, character: 4 },
            end: { line: 4, character: 4 + '"djangoRunserver.address": "127.0.0.1:8001"'.length },
        });
    });

    it("counts lines the same with CRLF line endings", () => {
        const text = '{\r\n  "djangoRunserver.reload": "off",\r\n  "djangoRunserver.address": "8001"\r\n}\r\n';
        assert.deepEqual(settingRange(text, "address")?.start, { line: 2, character: 2 });
    });

    it("takes the last of a repeated key, as VS Code does", () => {
        const text = '{\n "djangoRunserver.address": "8001",\n "djangoRunserver.address": "8002"\n}';
        assert.equal(settingRange(text, "address")?.start.line, 2);
    });

    it("spans a value written over several lines", () => {
        const text = '{\n  "djangoRunserver.args": [\n    "--insecure"\n  ]\n}';
        assert.deepEqual(settingRange(text, "args"), { start: { line: 1, character: 2 }, end: { line: 3, character: 3 } });
    });

    it("looks only at the top level, or under the path given", () => {
        const nested = '{\n  "[python]": {\n    "djangoRunserver.address": "8001"\n  }\n}';
        assert.equal(settingRange(nested, "address"), undefined);
        const workspace = [
            "{",
            '  "folders": [{ "path": "shop" }],',
            '  "djangoRunserver.address": "not read: outside settings",',
            '  "settings": {',
            '    "djangoRunserver.address": "0.0.0.0:8000"',
            "  }",
            "}",
        ].join("\n");
        assert.equal(settingRange(workspace, "address", ["settings"])?.start.line, 4);
    });

    it("finds nothing in a file that does not set it, is empty, or is not JSON", () => {
        assert.equal(settingRange('{"djangoRunserver.python": "python3"}', "address"), undefined);
        assert.equal(settingRange("", "address"), undefined);
        assert.equal(settingRange("[1, 2]", "address"), undefined);
    });

    it("still finds it while the file is half edited", () => {
        const text = '{\n  "djangoRunserver.address": "8001",\n  "djangoRunserver.'; // typing a new key
        assert.equal(settingRange(text, "address")?.start.line, 1);
    });
});

describe("locateSetting", () => {
    const folderSettings = { uri: "file:///shop/.vscode/settings.json", under: [] as string[] };
    const workspaceFile = { uri: "file:///shop.code-workspace", under: ["settings"] };

    it("prefers the folder's settings.json, which wins in VS Code", () => {
        const found = locateSetting(
            [
                { ...folderSettings, text: '{\n"djangoRunserver.address": "8001"}' },
                { ...workspaceFile, text: '{"settings": {"djangoRunserver.address": "8002"}}' },
            ],
            "address",
        );
        assert.deepEqual(found, { uri: folderSettings.uri, range: { start: { line: 1, character: 0 }, end: { line: 1, character: 33 } } });
    });

    it("falls back to the workspace file, then to nothing", () => {
        const files = [
            { ...folderSettings, text: undefined },
            { ...workspaceFile, text: '{"settings": {\n  "djangoRunserver.address": "8002"}}' },
        ];
        assert.equal(locateSetting(files, "address")?.uri, workspaceFile.uri);
        assert.equal(locateSetting(files, "python"), undefined);
    });
});

describe("DiagnosticRouter", () => {
    type D = { message: string; setting?: string };
    const managePy = "file:///shop/manage.py";
    const settings = "file:///shop/.vscode/settings.json";
    /** Moves diagnostics about the address to settings.json, as the extension does when it sets it. */
    const toSettings = (d: D): Placement<D> | undefined =>
        d.setting === "address" ? { uri: settings, diagnostic: { message: `${d.message} (moved)` } } : undefined;

    it("moves a bind error to settings.json and keeps the rest where they were published", () => {
        const router = new DiagnosticRouter<D>();
        const out = router.publish(managePy, [{ message: "port in use", setting: "address" }, { message: "other" }], toSettings);
        assert.deepEqual(new Map(out), new Map([
            [managePy, [{ message: "other" }]],
            [settings, [{ message: "port in use (moved)" }]],
        ]));
    });

    it("clears the moved diagnostic when the backend clears manage.py", () => {
        const router = new DiagnosticRouter<D>();
        router.publish(managePy, [{ message: "port in use", setting: "address" }], toSettings);
        assert.deepEqual(new Map(router.publish(managePy, [], toSettings)), new Map([
            [managePy, []],
            [settings, []],
        ]));
        assert.deepEqual(router.publish(managePy, [], toSettings), [[managePy, []]], "settings.json is left alone once clear");
    });

    it("keeps what each published file placed in a shared target", () => {
        const router = new DiagnosticRouter<D>();
        const other = "file:///blog/manage.py";
        router.publish(managePy, [{ message: "shop", setting: "address" }], toSettings);
        const both = new Map(router.publish(other, [{ message: "blog", setting: "address" }], toSettings));
        assert.deepEqual(both.get(settings), [{ message: "shop (moved)" }, { message: "blog (moved)" }]);
        const one = new Map(router.publish(managePy, [], toSettings));
        assert.deepEqual(one.get(settings), [{ message: "blog (moved)" }]);
    });

    it("keeps the target's own diagnostics beside the moved ones", () => {
        const router = new DiagnosticRouter<D>();
        router.publish(settings, [{ message: "own" }], toSettings);
        const out = new Map(router.publish(managePy, [{ message: "port in use", setting: "address" }], toSettings));
        assert.deepEqual(out.get(settings), [{ message: "own" }, { message: "port in use (moved)" }]);
    });

    it("forgets everything on clear", () => {
        const router = new DiagnosticRouter<D>();
        router.publish(managePy, [{ message: "port in use", setting: "address" }], toSettings);
        router.clear();
        assert.deepEqual(router.publish(managePy, [], toSettings), [[managePy, []]]);
    });
});
