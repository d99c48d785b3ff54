// End to end in real VS Code: code-server with the packaged linux-x64 extension, a temp copy of
// testdata/mysite, and headless Chromium clicking and typing as a user would. Every step is
// asserted and leaves a screenshot in <repo>/artifacts/e2e/. Waits are for conditions, with deadlines.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { Locator, Page } from "playwright-core";
import { copyProject, freePort, holdingPort, httpGet, portIsFree, python, repoRoot, waitUntil } from "../conformance/backend";
import { CodeServer, installCodeServer, installExtension, openBrowser, writeUserSettings } from "./codeServer";

const artifacts = path.join(repoRoot, "artifacts", "e2e");
const { version } = JSON.parse(readFileSync(path.join(repoRoot, "vscode-extension", "package.json"), "utf8"));
const vsix = process.env.DJANGO_RUNSERVER_VSIX ?? path.join(repoRoot, "dist-vsix", `django-runserver-linux-x64-${version}.vsix`);

/** How long VS Code may take for one visible change; starting Django is the slowest. */
const stepTimeout = 60_000;

/** backendPids lists the running backend processes whose binary lives under a folder (Linux /proc). */
function backendPids(under: string): number[] {
    const pids: number[] = [];
    for (const name of readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        try {
            if (readlinkSync(`/proc/${name}/exe`).startsWith(under)) pids.push(Number(name));
        } catch {
            // Gone already, or not ours to read.
        }
    }
    return pids;
}

describe("Django Runserver in VS Code", () => {
    let work: string;
    let project: ReturnType<typeof copyProject>;
    let port: number;
    let codeServer: CodeServer | undefined;
    let page: Page;
    let closeBrowser: (() => Promise<void>) | undefined;
    let item: Locator;
    let extensionsDir: string;

    const url = () => `http://127.0.0.1:${port}/`;

    async function screenshot(name: string): Promise<void> {
        await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
    }

    /** step runs one test step; on failure it saves a screenshot and prints what VS Code logged. */
    function step(name: string, body: () => Promise<void>) {
        it(name, async () => {
            try {
                await body();
            } catch (err) {
                await page?.screenshot({ path: path.join(artifacts, `failed-${name.replace(/\W+/g, "-")}.png`) }).catch(() => {});
                console.error(`--- code-server output ---\n${codeServer?.log().slice(-20_000)}`);
                console.error(`--- extension logs ---\n${codeServer?.extensionLogs()}`);
                throw err;
            }
        });
    }

    async function itemText(): Promise<string> {
        return (await item.innerText()).trim();
    }

    async function waitForItem(what: string, check: (text: string) => boolean): Promise<string> {
        let last = "";
        return waitUntil(`status bar item to show ${what}`, async () => {
            last = await itemText();
            return check(last) ? last : undefined;
        }, stepTimeout, () => `status bar item text: ${JSON.stringify(last)}`);
    }

    async function waitForHttp(what: string, check: (body: string) => boolean, target = url()): Promise<string> {
        return waitUntil(what, async () => {
            const res = await httpGet(target);
            return res.status === 200 && check(res.body) ? res.body : undefined;
        }, stepTimeout);
    }

    /** showTooltip hovers the status bar item and returns its tooltip once it contains `text`. */
    async function showTooltip(text: string): Promise<string> {
        // The pointer may still be on the item from a click: leave it first, only a fresh hover
        // opens the tooltip.
        await page.mouse.move(700, 400);
        await item.hover();
        const hover = page.locator(".workbench-hover").filter({ hasText: text }).first();
        await hover.waitFor({ state: "visible", timeout: stepTimeout });
        return hover.innerText();
    }

    async function runCommand(title: string): Promise<void> {
        await page.keyboard.press("F1");
        const input = page.locator(".quick-input-widget input");
        await input.waitFor({ state: "visible", timeout: stepTimeout });
        await input.fill(`>${title}`);
        // The first match must be exactly the command asked for.
        const first = page.locator(".quick-input-list .monaco-list-row").first();
        await waitUntil(`"${title}" in the command palette`, async () =>
            (await first.innerText().catch(() => "")).includes(title) ? true : undefined, stepTimeout);
        await page.keyboard.press("Enter");
        await input.waitFor({ state: "hidden", timeout: stepTimeout });
    }

    before(async () => {
        mkdirSync(artifacts, { recursive: true });
        installCodeServer();
        work = mkdtempSync(path.join(os.tmpdir(), "django-runserver-e2e-"));
        const userData = path.join(work, "user-data");
        const extensions = path.join(work, "extensions");
        extensionsDir = extensions;
        writeUserSettings(userData);
        installExtension(vsix, extensions, userData);

        project = copyProject();
        port = await freePort();
        mkdirSync(path.join(project.dir, ".vscode"), { recursive: true });
        writeFileSync(
            path.join(project.dir, ".vscode", "settings.json"),
            JSON.stringify(
                {
                    "djangoRunserver.python": python,
                    "djangoRunserver.address": `127.0.0.1:${port}`,
                    // Step 3 holds the port: fail at once rather than ask in a notification.
                    "djangoRunserver.onPortConflict": "fail",
                },
                null,
                2,
            ),
        );

        codeServer = await CodeServer.start(project.dir, userData, extensions);
        const browser = await openBrowser(path.join(work, "chromium-profile"));
        closeBrowser = browser.close;
        page = browser.page;
        await page.goto(codeServer.url);
        await page.locator(".monaco-workbench").waitFor({ timeout: stepTimeout });
        // The item's DOM id is "<extension id>.djangoRunserver.status", lower-cased by VS Code.
        item = page.locator('.statusbar-item[id$="djangorunserver.status" i]');
        await item.waitFor({ state: "visible", timeout: stepTimeout });
    });

    after(async () => {
        await closeBrowser?.();
        await codeServer?.stop();
        project?.cleanup();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    step("01 clicking the status bar item starts the server", async () => {
        await waitForItem("Run Server", (t) => t.includes("Run Server"));
        await screenshot("00-ready");
        await item.click();
        await waitForItem(`:${port}`, (t) => t.includes(`:${port}`));
        const body = await waitForHttp(`HTTP 200 from ${url()}`, (b) => b.includes("Django Runserver sample"));
        assert.match(body, /<h1>Django Runserver sample<\/h1>/);
        const tooltip = await showTooltip("Open in Browser");
        assert.ok(tooltip.includes(url()), "the tooltip shows the URL");
        assert.match(tooltip, /PID: \d+/);
        await screenshot("01-running");
        await page.mouse.move(700, 400);
    });

    step("02 saving an edited view serves the new content", async () => {
        await page.keyboard.press("Control+P");
        const input = page.locator(".quick-input-widget input");
        await input.waitFor({ state: "visible", timeout: stepTimeout });
        await input.fill("polls/views.py");
        const row = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: "views.py" }).first();
        await row.waitFor({ state: "visible", timeout: stepTimeout });
        await page.keyboard.press("Enter");
        const editor = page.locator(".editor-instance .monaco-editor").first();
        await page.locator('.tab[aria-label^="views.py"]').waitFor({ timeout: stepTimeout });
        await editor.locator(".view-lines").click();
        await page.keyboard.press("Control+A");
        await page.keyboard.type(
            [
                "from django.http import HttpResponse",
                "from django.shortcuts import render",
                "",
                "",
                "def index(request):",
                "    return render(request, 'polls/index.html', {'title': 'Edited in VS Code'})",
                "",
                "",
                "def hello(request):",
                "    return HttpResponse('hello from the view')",
                "",
            ].join("\n"),
        );
        await page.keyboard.press("Control+S");
        const saved = readFileSync(path.join(project.dir, "polls", "views.py"), "utf8");
        await waitUntil("views.py saved to disk", async () =>
            readFileSync(path.join(project.dir, "polls", "views.py"), "utf8").includes("Edited in VS Code") ? true : undefined,
        stepTimeout, () => saved);
        await waitForHttp("the edited view", (b) => b.includes("<h1>Edited in VS Code</h1>"));
        await waitForItem(`:${port} after the reload`, (t) => t.includes(`:${port}`));
        const tooltip = await showTooltip("Reloads: 1");
        // didSave and the file watcher race to report the change; either is right. The start is
        // warm once the preloader is ready, and cold, with the reason, if the save came first.
        assert.match(tooltip, /last took \d+ ms \((save|watch) views\.py\), (warm|cold) at \d\d:\d\d:\d\d/);
        if (tooltip.includes(", cold at")) assert.match(tooltip, /Cold because \S/);
        await screenshot("02-edited-view");
        await page.mouse.move(700, 400);
    });

    step("03 a held port shows the bind error in Problems and on the item", async () => {
        await runCommand("Django: Stop Server");
        await waitForItem("Run Server", (t) => t.includes("Run Server"));
        assert.ok(await portIsFree(port), `port ${port} is free after Stop Server`);
        await holdingPort(port, async () => {
            await item.click();
            await waitForItem(`Port ${port} in use`, (t) => t.includes(`Port ${port} in use`));
            assert.match((await item.getAttribute("class")) ?? "", /error-kind/, "the item has the error background");
            await page.keyboard.press("Control+Shift+M");
            const problem = page.locator(".markers-panel .monaco-list-row").filter({ hasText: String(port) }).first();
            await problem.waitFor({ state: "visible", timeout: stepTimeout });
            const panel = await page.locator(".markers-panel").innerText();
            assert.match(panel, /runserver/);
            // On the line of .vscode/settings.json that sets djangoRunserver.address (line 3), not manage.py.
            assert.match(panel, /settings\.json/, panel);
            assert.doesNotMatch(panel, /manage\.py/, panel);
            assert.match(await problem.innerText(), /Ln 3\b/);
            await screenshot("03-port-in-use");
        });
    });

    step("04 Django: Run Server from the command palette starts it", async () => {
        await runCommand("Django: Run Server");
        await waitForItem(`:${port}`, (t) => t.includes(`:${port}`));
        await waitForHttp(`HTTP 200 from ${url()}`, (b) => b.includes("Edited in VS Code"));
        // Running clears the bind error from the Problems panel.
        await waitUntil("the Problems panel to clear", async () =>
            (await page.locator(".markers-panel .monaco-list-row").filter({ hasText: String(port) }).count()) === 0 ? true : undefined,
        stepTimeout);
        await screenshot("04-run-from-palette");
    });

    step("04b a click on a frame of Django's debug page opens views.py in the editor, on the line", async () => {
        const views = path.join(project.dir, "polls", "views.py");
        const before = readFileSync(views, "utf8");
        const broken = before.replace(/return HttpResponse\('hello[^']*'\)/, "raise ValueError('broken view')");
        assert.notEqual(broken, before, "views.py has hello()'s return");
        const line = broken.split("\n").findIndex((l) => l.includes("raise ValueError")) + 1;
        writeFileSync(views, broken);
        // No editor open: the click alone must open views.py.
        await runCommand("View: Close All Editors");
        await page.locator(".tab").first().waitFor({ state: "detached", timeout: stepTimeout });
        const tab = await page.context().newPage();
        try {
            await waitUntil("Django's debug page for the broken view", async () =>
                (await httpGet(`${url()}hello/`)).status === 500 ? true : undefined, stepTimeout);
            await tab.goto(`${url()}hello/`);
            const frame = tab.locator("li.frame.user a[data-django-runserver-open]", { hasText: "views.py" }).first();
            await frame.click();
            await tab.locator("#django-runserver-note").filter({ hasText: "Opened" }).waitFor({ timeout: stepTimeout });
            await tab.screenshot({ path: path.join(artifacts, "04b-debug-page-frame-clicked.png") });
            await page.bringToFront();
            await page.locator('.tab.active[aria-label^="views.py"]').waitFor({ timeout: stepTimeout });
            const cursor = page.locator('.statusbar-item[id="status.editor.selection"]');
            await waitUntil(`the cursor on line ${line}`, async () =>
                /Ln (\d+)/.exec(await cursor.innerText().catch(() => ""))?.[1] === String(line) ? true : undefined,
            stepTimeout, () => `the editor's position is not line ${line}`);
            await screenshot("04b-frame-opened-at-line");
        } finally {
            await tab.close();
            writeFileSync(views, before);
        }
        await waitForHttp("the view, fixed again", (b) => b.includes("hello"), `${url()}hello/`);
    });

    step("05 clicking the item stops the server and frees the port", async () => {
        await item.click();
        await waitForItem("Run Server", (t) => t.includes("Run Server"));
        await waitUntil(`port ${port} to be free`, async () => ((await portIsFree(port)) ? true : undefined), stepTimeout);
        await screenshot("05-stopped");
    });

    step("06 a crashed backend is restarted and reports the folder again", async () => {
        const [old] = backendPids(extensionsDir);
        assert.ok(old, "the extension's backend is running");
        process.kill(old, "SIGKILL");
        const fresh = await waitUntil("a new backend process", async () => backendPids(extensionsDir).find((p) => p !== old), stepTimeout);
        assert.notEqual(fresh, old);
        await waitForItem("Run Server from the new backend", (t) => t.includes("Run Server"));
        await item.click();
        await waitForItem(`:${port}`, (t) => t.includes(`:${port}`));
        await waitForHttp(`HTTP 200 from ${url()}`, (b) => b.includes("Edited in VS Code"));
        await item.click();
        await waitForItem("Run Server", (t) => t.includes("Run Server"));
        await screenshot("06-backend-restarted");
    });

    /** openAt opens a file of the project at a line, by Quick Open and Go to Line. */
    async function openAt(file: string, line: number): Promise<void> {
        await page.keyboard.press("Control+P");
        const input = page.locator(".quick-input-widget input");
        await input.waitFor({ state: "visible", timeout: stepTimeout });
        await input.fill(`${file}:${line}`);
        const row = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: path.basename(file) }).first();
        await row.waitFor({ state: "visible", timeout: stepTimeout });
        await page.keyboard.press("Enter");
        await input.waitFor({ state: "hidden", timeout: stepTimeout });
    }

    /** request gets a page, waiting as long as a breakpoint holds it; it never rejects. */
    function request(target: string): Promise<{ status: number; body: string }> {
        return fetch(target, { signal: AbortSignal.timeout(5 * stepTimeout) })
            .then(async (res) => ({ status: res.status, body: await res.text() }))
            .catch((err: unknown) => ({ status: 0, body: String(err) }));
    }

    /** pausedPid waits until the editor shows a thread paused at a breakpoint, and returns the server's pid then. */
    async function pausedPid(): Promise<number> {
        await page.locator(".codicon-debug-stackframe").first().waitFor({ state: "visible", timeout: stepTimeout });
        const tooltip = await showTooltip("paused");
        await page.mouse.move(700, 400);
        const m = /PID: (\d+)/.exec(tooltip);
        assert.ok(m, tooltip);
        return Number(m[1]);
    }

    /**
     * watchDebugToolbar records, in the page, every time VS Code's floating debug toolbar shows or
     * hides, as it happens: a session that ends and restarts between two checks still leaves its
     * trace. The returned function reads the record.
     */
    async function watchDebugToolbar(): Promise<() => Promise<boolean[]>> {
        // Runs in the page, as a string: the test itself compiles without the DOM's types.
        await page.evaluate(`(() => {
            const seen = [];
            window.debugToolbarSeen = seen;
            const visible = () => {
                const bar = document.querySelector(".monaco-workbench .debug-toolbar");
                return !!bar && bar.isConnected && bar.style.display !== "none";
            };
            const record = () => {
                const now = visible();
                if (seen.length === 0 ? now : seen[seen.length - 1] !== now) seen.push(now);
            };
            new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["style"] });
            record();
        })()`);
        return () => page.evaluate<boolean[]>("[...window.debugToolbarSeen]");
    }

    /** debugLog returns what the extension logged about debug sessions since `from` (a length of its log). */
    function debugLog(from: number): string {
        return codeServer!.outputChannel("Django Runserver").slice(from);
    }

    /** assertOneSession checks the Call Stack: VS Code lists the threads of a lone session at its top, and a row per session once there are two. */
    async function assertOneSession(when: string): Promise<void> {
        const callStack = page.locator(".debug-call-stack");
        assert.ok((await callStack.locator(".thread").count()) > 0, `the Call Stack lists threads ${when}`);
        assert.equal(await callStack.locator(".session").count(), 0, `the Call Stack shows one session, not a session per process, ${when}`);
    }

    step("07 Django: Debug Server keeps one debug session through 3 reloads, stops at a breakpoint after each, and stopping the session stops the server", async () => {
        const logStart = codeServer!.outputChannel("Django Runserver").length;
        const toolbar = await watchDebugToolbar();
        // The breakpoint on hello()'s return, set before the server starts: VS Code sends it on attach.
        await openAt("polls/views.py", 10);
        await page.keyboard.press("F9");
        await page.locator(".codicon-debug-breakpoint").first().waitFor({ state: "visible", timeout: stepTimeout });
        await runCommand("Django: Debug Server");
        await waitForItem(`:${port} under the debugger`, (t) => t.includes(`:${port}`));

        let reply = request(`${url()}hello/`);
        const pids = [await pausedPid()];
        await waitForItem("paused", (t) => t.includes("paused"));
        await assertOneSession("at the first breakpoint");
        await screenshot("07-paused-at-breakpoint");
        await page.keyboard.press("F5");
        assert.equal((await reply).body, "hello from the view");
        const session = await waitUntil("the extension to log its debug session", async () =>
            /Debug session (\S+) started/.exec(debugLog(logStart))?.[1], stepTimeout, () => debugLog(logStart));
        assert.deepEqual(await toolbar(), [true], "the debug toolbar shows once the session starts");

        // Edit and save the view, 3 times: each new process joins the session and stops at the same line.
        const views = path.join(project.dir, "polls", "views.py");
        for (let reload = 1; reload <= 3; reload++) {
            const text = `hello from the debugger, reload ${reload}`;
            await openAt("polls/views.py", 10);
            await page.keyboard.press("End");
            await page.keyboard.press("Shift+Home");
            await page.keyboard.type(`return HttpResponse('${text}')`);
            await page.keyboard.press("Control+S");
            await waitUntil("views.py saved to disk", async () =>
                readFileSync(views, "utf8").includes(text) ? true : undefined, stepTimeout);
            const pid = await waitUntil(`a paused request in the process of reload ${reload}`, async () => {
                reply = request(`${url()}hello/`);
                const paused = page.locator(".codicon-debug-stackframe").first().waitFor({ state: "visible", timeout: stepTimeout });
                if ((await Promise.race([reply.then(() => "answered"), paused.then(() => "paused", () => "not paused")])) !== "paused") return undefined;
                const pid = await pausedPid();
                if (!pids.includes(pid)) return pid;
                // The request reached the old process before the save's reload, which now waits for
                // execution to continue: continue, so that it applies, and ask again.
                await page.keyboard.press("F5");
                await reply;
                return undefined;
            }, stepTimeout);
            pids.push(pid);
            await assertOneSession(`after reload ${reload}`);
            await screenshot(`08-paused-after-reload-${reload}`);
            await page.keyboard.press("F5");
            assert.equal((await reply).body, text);
            await waitUntil(`the extension to log that pid ${pid} joined the session`, async () =>
                debugLog(logStart).includes(`pid ${pid} joins the debug session`) ? true : undefined, stepTimeout, () => debugLog(logStart));
        }
        // One session all along: started once, never ended, its toolbar never hidden.
        const log = debugLog(logStart);
        assert.deepEqual([...log.matchAll(/Debug session (\S+) started/g)].map((m) => m[1]), [session], log);
        assert.doesNotMatch(log, /Debug session \S+ ended/, log);
        assert.equal((log.match(/Attaching the debugger/g) ?? []).length, 1, log);
        assert.deepEqual(await toolbar(), [true], "the debug toolbar stayed through the reloads");

        // Stopping the debug session stops the server: the port is free, no Django process is left.
        await page.keyboard.press("Shift+F5");
        await waitForItem("Run Server after the debug session stopped", (t) => t.includes("Run Server"));
        await waitUntil(`port ${port} to be free`, async () => ((await portIsFree(port)) ? true : undefined), stepTimeout);
        for (const pid of pids) {
            await waitUntil(`process ${pid} to be gone`, async () => {
                try {
                    process.kill(pid, 0);
                    return undefined;
                } catch {
                    return true;
                }
            }, stepTimeout);
        }
        assert.match(debugLog(logStart), new RegExp(`Debug session ${session} ended`));
        await waitUntil("the debug toolbar to hide", async () => ((await toolbar()).at(-1) === false ? true : undefined), stepTimeout);
        await screenshot("09-debug-stopped");
    });

    step("08 a runtime 500 appears in the Problems panel on views.py's line, and the fix clears it", async () => {
        const views = path.join(project.dir, "polls", "views.py");
        const good = readFileSync(views, "utf8");
        const raising = good.replace(/return HttpResponse\('hello from [^']*'\)/, "return HttpResponse(1 / 0)");
        assert.notEqual(raising, good, "hello() returns a literal response to replace");
        const line = raising.split("\n").findIndex((l) => l.includes("1 / 0")) + 1;
        writeFileSync(views, raising);
        await runCommand("Django: Run Server");
        await waitForItem(`:${port}`, (t) => t.includes(`:${port}`));
        assert.equal((await httpGet(`${url()}hello/`)).status, 500);

        await page.keyboard.press("Control+Shift+M");
        const problem = page.locator(".markers-panel .monaco-list-row").filter({ hasText: "ZeroDivisionError: division by zero" }).first();
        await problem.waitFor({ state: "visible", timeout: stepTimeout });
        assert.match(await problem.innerText(), new RegExp(`Ln ${line}\\b`));
        const panel = await page.locator(".markers-panel").innerText();
        assert.match(panel, /views\.py/, panel);
        assert.match(panel, /Raised while serving GET \/hello\//, panel);
        await screenshot("10-runtime-error-in-problems");

        // The fix reloads the code: the problem goes.
        writeFileSync(views, good);
        await waitForHttp("the fixed view", (b) => b.length > 0, `${url()}hello/`);
        await waitUntil("the Problems panel to clear", async () =>
            (await page.locator(".markers-panel .monaco-list-row").filter({ hasText: "ZeroDivisionError" }).count()) === 0 ? true : undefined,
        stepTimeout);
        await screenshot("11-runtime-error-cleared");
        await item.click();
        await waitForItem("Run Server", (t) => t.includes("Run Server"));
    });
});
