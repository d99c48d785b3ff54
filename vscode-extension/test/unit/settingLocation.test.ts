import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { locateSetting, settingRange } from "../../src/settingLocation";

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
