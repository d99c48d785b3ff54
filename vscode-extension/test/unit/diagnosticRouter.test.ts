import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DiagnosticRouter, Placement } from "../../src/diagnosticRouter";
import { Diagnostic, DiagnosticRequestFailed, DiagnosticSeverity } from "../../src/protocol";

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

describe("DiagnosticRouter with a request's exception", () => {
    const views = "file:///shop/polls/views.py";
    const managePy = "file:///shop/manage.py";
    const settings = "file:///shop/.vscode/settings.json";
    const line = (n: number) => ({ start: { line: n, character: 0 }, end: { line: n, character: 30 } });
    /** As the backend publishes it: the request first in the related information, then the view's caller. */
    const failed: Diagnostic = {
        range: line(11),
        severity: DiagnosticSeverity.Error,
        code: DiagnosticRequestFailed,
        source: "runserver",
        message: "ZeroDivisionError: division by zero",
        relatedInformation: [
            { location: { uri: views, range: line(11) }, message: "Raised while serving GET /shop/" },
            { location: { uri: views, range: line(4) }, message: "in index" },
        ],
    };
    /** As the extension places diagnostics: those about a setting move; the rest stay. */
    const place = (d: Diagnostic): Placement<Diagnostic> | undefined =>
        d.data?.setting ? { uri: settings, diagnostic: { ...d, message: `${d.message} (moved)` } } : undefined;

    it("stays on its file whole, related information and all, beside a moved bind error", () => {
        const router = new DiagnosticRouter<Diagnostic>();
        const bind: Diagnostic = { ...failed, code: "port-in-use", relatedInformation: undefined, message: "port in use", data: { setting: "address" } };
        router.publish(managePy, [bind], place);
        const out = new Map(router.publish(views, [failed], place));
        assert.deepEqual([...out.keys()], [views]);
        assert.equal(out.get(views)?.[0], failed, "the diagnostic reaches the Problems panel unchanged");
    });

    it("clears when the backend publishes its file empty (the path succeeded, or the code reloaded)", () => {
        const router = new DiagnosticRouter<Diagnostic>();
        router.publish(views, [failed], place);
        assert.deepEqual(router.publish(views, [], place), [[views, []]]);
    });
});
