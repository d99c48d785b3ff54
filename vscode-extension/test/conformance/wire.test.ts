// Wire conformance: the built backend, spoken to over stdio by vscode-jsonrpc (what VS Code's
// language client uses) with the message types of src/protocol.ts, against the testdata project.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { DiagnosticRequestFailed, DiagnosticSeverity, RestartRequest, StartRequest, Status, StatusRequest, StopRequest } from "../../src/protocol";
import { buildSettingsPayload, ExtensionSettings } from "../../src/settings";
import { Backend, copyProject, freePort, holdingPort, httpGet, portIsFree, python, waitUntil } from "./backend";

function settingsFor(folderUri: string, settings: ExtensionSettings) {
    const resolved = { python, ...settings };
    return buildSettingsPayload(resolved, [{ uri: folderUri, settings: resolved }]);
}

describe("wire conformance", () => {
    let project: ReturnType<typeof copyProject>;
    let backend: Backend | undefined;

    before(() => {
        project = copyProject();
    });
    after(() => project.cleanup());
    afterEach(() => {
        backend?.kill();
        backend = undefined;
    });

    /** initialized runs the handshake with these settings and waits for the folder's first status, stopped. */
    async function initialized(b: Backend, settings: ExtensionSettings): Promise<Status> {
        await b.initialize(project.uri, settingsFor(project.uri, settings));
        return b.waitForState(project.uri, ["stopped"]);
    }

    /** runServer starts the folder's server and waits until it runs. */
    async function runServer(b: Backend): Promise<Status> {
        const mark = b.statuses.length;
        await b.request<Status>(StartRequest.method, { folder: project.uri });
        return b.waitForState(project.uri, ["running"], mark);
    }

    /** conformance declares a test that prints the JSON-RPC transcript when it fails. */
    function conformance(name: string, body: () => Promise<void>) {
        it(name, async () => {
            try {
                await body();
            } catch (err) {
                // Timeouts already carry the transcript; other failures need it printed.
                if (backend && !String(err).includes("JSON-RPC transcript")) console.error(backend.describe());
                throw err;
            }
        });
    }

    conformance("rejects requests before initialize with -32002", async () => {
        backend = Backend.start();
        await assert.rejects(backend.request(StatusRequest.method, {}), (err: { code?: number }) => err.code === -32002);
    });

    conformance("initialize advertises save-only document sync and workspace folders", async () => {
        backend = Backend.start();
        const result = await backend.initialize(project.uri, settingsFor(project.uri, { address: "127.0.0.1:8000" }));
        assert.deepEqual(result.capabilities.textDocumentSync, { openClose: false, change: 0, save: { includeText: false } });
        assert.deepEqual(result.capabilities.workspace, { workspaceFolders: { supported: true, changeNotifications: true } });
        assert.equal(result.serverInfo.name, "django-runserver");
        const stopped = await backend.waitForState(project.uri, ["stopped"]);
        assert.equal(stopped.reloads, 0);
        await assert.rejects(backend.request("runserver/unknown", {}), (err: { code?: number }) => err.code === -32601);
        assert.equal(await backend.shutdown(), 0);
    });

    conformance("start → starting → running, serves HTTP 200, reloads on didSave, stop frees the port, shutdown exits 0", async () => {
        const port = await freePort();
        backend = Backend.start();
        await initialized(backend, { address: `127.0.0.1:${port}` });

        const mark = backend.statuses.length;
        const reply = await backend.request<Status>(StartRequest.method, { folder: project.uri });
        assert.equal(reply.folder, project.uri);
        assert.ok(["starting", "running"].includes(reply.state), `start replied ${reply.state}`);
        const starting = await backend.waitForState(project.uri, ["starting"], mark);
        const running = await backend.waitForState(project.uri, ["running", "failed"], mark);
        assert.equal(running.state, "running", running.error?.message);
        assert.ok(backend.statuses.indexOf(starting) < backend.statuses.indexOf(running), "starting comes before running");
        assert.equal(running.url, `http://127.0.0.1:${port}/`);
        assert.ok(running.pid && running.pid > 0, "running has a pid");
        assert.equal(running.reloads, 0);

        const page = await waitUntil("HTTP 200", async () => {
            const res = await httpGet(running.url!);
            return res.status === 200 ? res : undefined;
        }, 30_000, () => backend!.describe());
        assert.match(page.body, /Django Runserver sample/);

        // Django's output arrives as runserver/log.
        await backend.waitFor("a runserver/log line", () => backend!.logs.find((l) => l.folder === project.uri));

        const status = await backend.request<Status>(StatusRequest.method, { folder: project.uri });
        assert.equal(status.state, "running");

        // Edit a view and tell the backend it was saved: it reloads and serves the new code.
        const views = path.join(project.dir, "polls", "views.py");
        writeFileSync(views, readFileSync(views, "utf8").replace("hello from the view", "hello after save"));
        const beforeSave = backend.statuses.length;
        await backend.notify("textDocument/didSave", { textDocument: { uri: pathToFileURL(views).href } });
        const reloaded = await backend.waitFor("running after the save reload", () =>
            backend!.statuses.slice(beforeSave).find((s) => s.state === "running" && s.reloads >= 1),
        );
        assert.ok(reloaded.lastReloadMs !== undefined, "a reload reports its duration");
        assert.ok(backend.statuses.slice(beforeSave).some((s) => s.state === "reloading"), "reloading comes first");
        await waitUntil("the edited view", async () => {
            const res = await httpGet(`${running.url}hello/`);
            return res.body.includes("hello after save") ? res : undefined;
        }, 30_000, () => backend!.describe());

        const beforeRestart = backend.statuses.length;
        const restart = await backend.request<Status>(RestartRequest.method, { folder: project.uri });
        assert.ok(["reloading", "starting", "running"].includes(restart.state), `restart replied ${restart.state}`);
        await backend.waitForState(project.uri, ["running"], beforeRestart);

        const stopped = await backend.request<Status>(StopRequest.method, { folder: project.uri });
        assert.equal(stopped.state, "stopped");
        assert.ok(await portIsFree(port), `port ${port} is free once stop replies`);

        assert.equal(await backend.shutdown(), 0);
    });

    conformance("port held with onPortConflict fail: failed port-in-use, and a runserver diagnostic", async () => {
        const port = await freePort();
        await holdingPort(port, async () => {
        backend = Backend.start();
        await initialized(backend, { address: `127.0.0.1:${port}`, onPortConflict: "fail" });
        const mark = backend.statuses.length;
        const reply = await backend.request<Status>(StartRequest.method, { folder: project.uri });
        const failed = reply.state === "failed" ? reply : await backend.waitForState(project.uri, ["failed"], mark);
        assert.equal(failed.error?.code, "port-in-use");
        assert.equal(failed.error?.port, port);
        assert.ok(failed.error?.message.includes(String(port)), failed.error?.message);
        const published = await backend.waitFor("a port-in-use diagnostic", () =>
            backend!.diagnostics.find((p) => p.diagnostics.some((d) => d.source === "runserver" && d.code === "port-in-use")),
        );
        // On manage.py line 1: the backend reads no editor's settings files; the editor moves it.
        assert.equal(published.uri, pathToFileURL(path.join(project.dir, "manage.py")).href);
        const diag = published.diagnostics.find((d) => d.code === "port-in-use")!;
        assert.equal(diag.range.start.line, 0);
        assert.equal(diag.severity, 1);
        assert.equal(await backend.shutdown(), 0);
        });
    });

    conformance("port held with onPortConflict ask: showMessageRequest offers the next port, and choosing it starts there", async () => {
        const port = await freePort();
        await holdingPort(port, async () => {
        backend = Backend.start();
        backend.answerMessageRequest = (p) => p.actions?.find((a) => a.title.startsWith("Use port")) ?? null;
        await initialized(backend, { address: `127.0.0.1:${port}`, onPortConflict: "ask" });
        const mark = backend.statuses.length;
        await backend.request<Status>(StartRequest.method, { folder: project.uri });
        const ask = await backend.waitFor("window/showMessageRequest", () => backend!.messageRequests[0]);
        assert.equal(ask.type, 1);
        assert.ok(ask.message.includes(String(port)), ask.message);
        const titles = (ask.actions ?? []).map((a) => a.title);
        assert.ok(titles.some((t) => /^Use port \d+$/.test(t)), titles.join(", "));
        assert.ok(titles.includes("Cancel"), titles.join(", "));
        const running = await backend.waitForState(project.uri, ["running"], mark);
        assert.notEqual(running.url, `http://127.0.0.1:${port}/`);
        const res = await waitUntil("HTTP 200 on the suggested port", async () => {
            const r = await httpGet(running.url!);
            return r.status === 200 ? r : undefined;
        });
        assert.equal(res.status, 200);
        assert.equal(await backend.shutdown(), 0);
        });
    });

    conformance("didChangeConfiguration replaces the settings, and an added folder is reported", async () => {
        const first = await freePort();
        const second = await freePort();
        backend = Backend.start();
        await initialized(backend, { address: `127.0.0.1:${first}` });
        await backend.notify("workspace/didChangeConfiguration", { settings: settingsFor(project.uri, { address: `127.0.0.1:${second}` }) });
        const mark = backend.statuses.length;
        await backend.request<Status>(StartRequest.method, { folder: project.uri });
        const running = await backend.waitForState(project.uri, ["running", "failed"], mark);
        assert.equal(running.url, `http://127.0.0.1:${second}/`, running.error?.message);

        const other = copyProject();
        try {
            await backend.notify("workspace/didChangeWorkspaceFolders", {
                event: { added: [{ uri: other.uri, name: "other" }], removed: [] },
            });
            await backend.waitForState(other.uri, ["stopped"]);
            // With two folders that have a manage.py, requests must name one.
            await assert.rejects(backend.request(StatusRequest.method, {}), (err: { code?: number }) => err.code === -32602);
            await assert.rejects(
                backend.request(StatusRequest.method, { folder: "file:///not/a/workspace/folder" }),
                (err: { code?: number }) => err.code === -32602,
            );
        } finally {
            other.cleanup();
        }
        assert.equal(await backend.shutdown(), 0);
    });

    conformance("a SyntaxError on save fails with file and line and a diagnostic; the fix runs again", async () => {
        const port = await freePort();
        backend = Backend.start();
        await initialized(backend, { address: `127.0.0.1:${port}` });
        await runServer(backend);

        const views = path.join(project.dir, "polls", "views.py");
        const good = readFileSync(views, "utf8");
        writeFileSync(views, `${good}\n\ndef broken(:\n    pass\n`);
        const badLine = good.split("\n").length + 2;
        let mark = backend.statuses.length;
        await backend.notify("textDocument/didSave", { textDocument: { uri: pathToFileURL(views).href } });
        const failed = await backend.waitForState(project.uri, ["failed"], mark);
        assert.equal(failed.error?.code, "startup-failed");
        assert.equal(failed.error?.exception, "SyntaxError");
        assert.equal(failed.error?.file, views);
        assert.equal(failed.error?.line, badLine);
        const diag = await backend.waitFor("a diagnostic on views.py", () =>
            backend!.diagnostics.find((d) => d.uri === pathToFileURL(views).href && d.diagnostics.length > 0),
        );
        assert.equal(diag.diagnostics[0].source, "runserver");
        assert.equal(diag.diagnostics[0].range.start.line, badLine - 1);

        writeFileSync(views, good);
        mark = backend.statuses.length;
        await backend.notify("textDocument/didSave", { textDocument: { uri: pathToFileURL(views).href } });
        await backend.waitForState(project.uri, ["running"], mark);
        await backend.waitFor("the views.py diagnostic to clear", () => {
            const last = backend!.diagnostics.filter((d) => d.uri === pathToFileURL(views).href).pop();
            return last && last.diagnostics.length === 0 ? true : undefined;
        });
        assert.equal(await backend.shutdown(), 0);
    });

    conformance("a request's exception is a diagnostic on the view's line with the request related; the path's success clears it", async () => {
        const views = path.join(project.dir, "polls", "views.py");
        const urls = path.join(project.dir, "polls", "urls.py");
        const good = { views: readFileSync(views, "utf8"), urls: readFileSync(urls, "utf8") };
        try {
            writeFileSync(views, `${good.views}\n\ndef ratio(request):\n    return HttpResponse(1 / int(request.GET.get('d', '0')))\n`);
            writeFileSync(urls, good.urls.replace("urlpatterns = [", "urlpatterns = [\n    path('ratio/', views.ratio),"));
            const line = good.views.split("\n").length + 3; // 1-based: the line that divides
            const port = await freePort();
            backend = Backend.start();
            await initialized(backend, { address: `127.0.0.1:${port}` });
            const running = await runServer(backend);
            const uri = pathToFileURL(views).href;
            const latest = () => backend!.diagnostics.filter((d) => d.uri === uri).pop()?.diagnostics;

            assert.equal((await httpGet(`${running.url}ratio/`)).status, 500);
            const [diag] = await backend.waitFor("the request's diagnostic on views.py", () => (latest()?.length ? latest() : undefined));
            assert.equal(diag.code, DiagnosticRequestFailed);
            assert.equal(diag.severity, DiagnosticSeverity.Error);
            assert.equal(diag.source, "runserver");
            assert.equal(diag.message, "ZeroDivisionError: division by zero");
            assert.equal(diag.range.start.line, line - 1);
            assert.deepEqual(diag.relatedInformation?.[0], {
                location: { uri, range: diag.range },
                message: "Raised while serving GET /ratio/",
            });

            assert.equal((await httpGet(`${running.url}ratio/?d=4`)).status, 200);
            await backend.waitFor("the diagnostic to clear", () => (latest()?.length === 0 ? true : undefined));
            assert.equal(await backend.shutdown(), 0);
        } finally {
            writeFileSync(views, good.views);
            writeFileSync(urls, good.urls);
        }
    });

    /** openFrame is a click on the page's frame of polls/views.py: the page's own POST, with its token. */
    async function openFrame(base: string, page: string, origin = base): Promise<{ status: number; body: string; file: string; line: number }> {
        const token = /data-token="([0-9a-f]+)"/.exec(page)?.[1];
        const frame = /class="fname">([^<]*polls\/views\.py)<\/[a-z]+>, line (\d+)/.exec(page);
        assert.ok(token && frame, "the debug page has the script's token and a frame of polls/views.py");
        const res = await fetch(`${base}/__django_runserver__/open`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Origin: origin, "X-Django-Runserver-Token": token },
            body: JSON.stringify({ file: frame[1], line: Number(frame[2]) }),
            signal: AbortSignal.timeout(5_000),
        });
        return { status: res.status, body: await res.text(), file: frame[1], line: Number(frame[2]) };
    }

    /** brokenView makes polls/views.py's hello raise, and returns its file and the raising line. */
    function brokenView(): { views: string; line: number } {
        const views = path.join(project.dir, "polls", "views.py");
        const text = readFileSync(views, "utf8").replace(/return HttpResponse\('hello[^']*'\)/, "raise ValueError('broken view')");
        writeFileSync(views, text);
        return { views, line: text.split("\n").findIndex((l) => l.includes("raise ValueError")) + 1 };
    }

    conformance("a click on a frame of Django's debug page: window/showDocument at the line, for an editor that supports it", async () => {
        const { views, line } = brokenView();
        const port = await freePort();
        backend = Backend.start();
        await backend.initialize(project.uri, settingsFor(project.uri, { address: `127.0.0.1:${port}` }), {
            window: { showDocument: { support: true } },
        });
        await backend.waitForState(project.uri, ["stopped"]);
        const running = await runServer(backend);
        const page = await httpGet(`${running.url}hello/`);
        assert.equal(page.status, 500);
        const base = running.url!.replace(/\/$/, "");

        const refused = await openFrame(base, page.body, "http://evil.example");
        assert.equal(refused.status, 403, "a cross-origin request is refused");
        const click = await openFrame(base, page.body);
        assert.equal(click.status, 200, click.body);
        assert.deepEqual(JSON.parse(click.body), { opened: true });
        assert.equal(click.line, line);
        const shown = await backend.waitFor("window/showDocument", () => backend!.shownDocuments[0]);
        assert.equal(shown.uri, pathToFileURL(views).href);
        assert.equal(shown.takeFocus, true);
        assert.deepEqual(shown.selection, { start: { line: line - 1, character: 0 }, end: { line: line - 1, character: 0 } });
        assert.equal(backend.shownDocuments.length, 1, "the refused request showed nothing");
        assert.equal(await backend.shutdown(), 0);
    });

    conformance("a click on a frame, for an editor without window/showDocument: the page is told to copy file:line", async () => {
        const { views, line } = brokenView();
        const port = await freePort();
        backend = Backend.start();
        await initialized(backend, { address: `127.0.0.1:${port}` });
        const running = await runServer(backend);
        const page = await httpGet(`${running.url}hello/`);
        const click = await openFrame(running.url!.replace(/\/$/, ""), page.body);
        assert.equal(click.status, 200, click.body);
        assert.deepEqual(JSON.parse(click.body), { copy: `${views}:${line}` });
        assert.equal(backend.shownDocuments.length, 0);
        assert.equal(await backend.shutdown(), 0);
    });
});
