import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SettingEffect, SettingEffects, Settings } from "../../src/protocol";
import { buildSettingsPayload, changedRestartKeys, ExtensionSettings, settingPointer, toBackendSettings } from "../../src/settings";

/** What VS Code returns for a folder with no settings of its own: the package.json defaults. */
const defaults: ExtensionSettings = {
    python: "",
    managePy: "",
    address: "127.0.0.1:8000",
    args: [],
    env: {},
    envFile: "",
    reload: "fast",
    watchExclude: [],
    onPortConflict: "ask",
    startupTimeout: 60,
    watch: "auto",
    pollInterval: 1,
    browserReload: true,
    preload: "auto",
    openBrowser: false,
    serverPath: "",
};

/** A value other than the default for every backend key. */
const nonDefaults: Required<Settings> = {
    python: "/usr/bin/python3",
    managePy: "src/manage.py",
    address: "0.0.0.0:9000",
    args: ["--insecure"],
    env: { DEBUG: "1" },
    envFile: ".env",
    reload: "django",
    watchExclude: ["media/**"],
    onPortConflict: "nextFree",
    startupTimeout: 5,
    watch: "poll",
    pollInterval: 0.5,
    browserReload: false,
    preload: "off",
};

describe("toBackendSettings", () => {
    it("drops the extension-only keys and empty strings that mean 'not set'", () => {
        const kept = ["address", "args", "env", "reload", "watchExclude", "onPortConflict", "startupTimeout", "watch", "pollInterval", "browserReload", "preload"] as const;
        assert.deepEqual(toBackendSettings(defaults), Object.fromEntries(kept.map((key) => [key, defaults[key]])));
    });

    it("passes every backend key through", () => {
        assert.deepEqual(toBackendSettings({ ...nonDefaults, openBrowser: true, serverPath: "/opt/django-runserver" }), nonDefaults);
    });

    it("uses the Python extension's interpreter unless python is set", () => {
        assert.equal(toBackendSettings(defaults, "/venv/bin/python").python, "/venv/bin/python");
        assert.equal(toBackendSettings({ ...defaults, python: "/usr/bin/python3" }, "/venv/bin/python").python, "/usr/bin/python3");
        assert.equal(toBackendSettings(defaults, undefined).python, undefined);
    });

    it("keeps values of the wrong type, for the backend to name in invalid-settings", () => {
        const raw = { ...defaults, args: "--insecure" } as unknown as ExtensionSettings;
        assert.equal(toBackendSettings(raw).args, "--insecure");
    });
});

describe("buildSettingsPayload", () => {
    it("global section plus one resolved section per folder", () => {
        const payload = buildSettingsPayload({ ...defaults, address: "127.0.0.1:8000" }, [
            { uri: "file:///a", settings: { ...defaults, address: "127.0.0.1:8001" }, interpreter: "/a/.venv/bin/python" },
            { uri: "file:///b", settings: defaults },
        ]);
        assert.equal(payload.djangoRunserver.address, "127.0.0.1:8000");
        assert.equal(payload.djangoRunserver.python, undefined, "the interpreter is per folder, not global");
        assert.deepEqual(Object.keys(payload.djangoRunserverFolders ?? {}), ["file:///a", "file:///b"]);
        assert.equal(payload.djangoRunserverFolders?.["file:///a"].address, "127.0.0.1:8001");
        assert.equal(payload.djangoRunserverFolders?.["file:///a"].python, "/a/.venv/bin/python");
        assert.equal(payload.djangoRunserverFolders?.["file:///b"].python, undefined);
    });

    it("no folders: an empty folder map", () => {
        assert.deepEqual(buildSettingsPayload(defaults, []).djangoRunserverFolders, {});
    });
});

describe("changedRestartKeys", () => {
    const base = buildSettingsPayload(defaults, [{ uri: "file:///a", settings: defaults }]);
    const change = (settings: Partial<ExtensionSettings>, interpreter?: string) =>
        buildSettingsPayload(defaults, [{ uri: "file:///a", settings: { ...defaults, ...settings }, interpreter }]);

    it("settings read at start need a restart", () => {
        assert.deepEqual(changedRestartKeys(base, change({ address: "8001", env: { A: "1" } }), "file:///a"), ["address", "env"]);
    });
    it("settings applied at once do not: the watcher's, the port conflict policy, the extension's own", () => {
        const now: Partial<ExtensionSettings> = { watchExclude: ["x"], watch: "poll", pollInterval: 2, onPortConflict: "fail", openBrowser: true };
        assert.deepEqual(changedRestartKeys(base, change(now), "file:///a"), []);
    });
    it("offers a restart for exactly the keys whose effect is restart in protocol.go", () => {
        assert.deepEqual(Object.keys(nonDefaults).sort(), Object.keys(SettingEffects).sort());
        for (const [key, value] of Object.entries(nonDefaults)) {
            const want = SettingEffects[key] === SettingEffect.Restart ? [key] : [];
            assert.deepEqual(changedRestartKeys(base, change({ [key]: value }), "file:///a"), want, key);
        }
    });
    it("a new interpreter from the Python extension counts as python", () => {
        assert.deepEqual(changedRestartKeys(base, change({}, "/venv/bin/python"), "file:///a"), ["python"]);
    });
    it("a folder without its own section compares the global one", () => {
        const after = buildSettingsPayload({ ...defaults, reload: "off" }, []);
        assert.deepEqual(changedRestartKeys(buildSettingsPayload(defaults, []), after, "file:///z"), ["reload"]);
    });
});

describe("settingPointer", () => {
    it("names the VS Code setting of a protocol settings key", () => {
        assert.equal(settingPointer("address"), "Setting: djangoRunserver.address.");
    });
});
