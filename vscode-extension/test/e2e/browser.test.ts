// The live browser in a real browser: the built backend in terminal mode (`django-runserver run`) on
// a temp copy of testdata/livesite, and headless Chromium with the page open. After the page loads
// nothing is clicked: each save must show in the page by itself. Every step leaves a screenshot in
// <repo>/artifacts/browser/. Waits are for conditions, with deadlines.

import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { BrowserContext, Page } from "playwright-core";
import { backendBinary, copyProject, freePort, httpGet, python, repoRoot, waitUntil } from "../conformance/backend";
import { openBrowser, openTabbedBrowser } from "./codeServer";

const artifacts = path.join(repoRoot, "artifacts", "browser");

/** How long one visible change may take: a reload on a loaded machine is the slowest. */
const stepTimeout = 60_000;

/** A `django-runserver run` in a terminal, its output kept. */
class Terminal {
    private proc: ChildProcess;
    private out = "";

    constructor(dir: string, port: number, flags: string[] = [], env: Record<string, string> = {}) {
        this.proc = spawn(backendBinary, ["run", "-python", python, ...flags, dir, `127.0.0.1:${port}`], {
            env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const keep = (b: Buffer) => (this.out += b.toString());
        this.proc.stdout!.on("data", keep);
        this.proc.stderr!.on("data", keep);
    }

    output(): string {
        return this.out;
    }

    /** stop interrupts it, as Ctrl-C does, and waits for it to exit. */
    async stop(): Promise<void> {
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
        const exited = new Promise((resolve) => this.proc.once("exit", resolve));
        this.proc.kill("SIGINT");
        await exited;
    }
}

/** A page open on the live server, that knows when its event stream is open. */
class LivePage {
    /**
     * loads counts the pages shown: one per reload, never a loop. A page counts from its commit,
     * which comes before its script opens the stream; its DOMContentLoaded may come after the
     * stream's response, which would credit the stream to the page before.
     */
    loads = 0;
    private streamsOfLoad = -1;

    constructor(readonly page: Page) {
        page.on("framenavigated", (frame) => {
            if (frame === page.mainFrame()) this.loads++;
        });
        page.on("response", (res) => {
            if (res.url().includes("/__django_runserver__/events")) this.streamsOfLoad = this.loads;
        });
    }

    /** reloaded waits until the page has loaded again since it had loaded `since` times. */
    async reloaded(since: number): Promise<void> {
        await waitUntil("the page to load again", async () => (this.loads > since ? true : undefined), stepTimeout);
    }

    /** listening waits until the page that is shown now has its event stream open. */
    async listening(): Promise<void> {
        await waitUntil("the page's event stream to open", async () => (this.streamsOfLoad === this.loads ? true : undefined), stepTimeout);
    }

    async text(selector: string): Promise<string> {
        try {
            return (await this.page.locator(selector).first().innerText({ timeout: 1000 })).trim();
        } catch {
            return ""; // between two pages, or not on this page
        }
    }

    /** shows waits until selector's text satisfies check, and returns it. */
    async shows(what: string, selector: string, check: (text: string) => boolean): Promise<string> {
        let last = "";
        return waitUntil(`the page to show ${what}`, async () => {
            last = await this.text(selector);
            return check(last) ? last : undefined;
        }, stepTimeout, () => `${selector} shows ${JSON.stringify(last)}`);
    }
}

/** rewrite replaces old with new in file, which must contain it. */
function rewrite(file: string, old: string, next: string): void {
    const text = readFileSync(file, "utf8");
    assert.ok(text.includes(old), `${file} lacks ${JSON.stringify(old)}`);
    writeFileSync(file, text.replace(old, next));
}

async function served(url: string, check: (body: string) => boolean): Promise<string> {
    return waitUntil(`${url} to serve`, async () => {
        const res = await httpGet(url).catch(() => undefined);
        return res && res.status === 200 && check(res.body) ? res.body : undefined;
    }, stepTimeout);
}

/**
 * stepsOf makes a suite's `step`: a test that, on failure, saves a screenshot of the suite's page and prints its
 * terminal's output.
 */
function stepsOf(suite: () => { live?: LivePage; terminal?: Terminal }, shots = "") {
    return (name: string, body: () => Promise<void>) => {
        it(name, async () => {
            try {
                await body();
            } catch (err) {
                const { live, terminal } = suite();
                await live?.page.screenshot({ path: path.join(artifacts, `${shots}failed-${name.replace(/\W+/g, "-")}.png`) }).catch(() => {});
                console.error(`--- django-runserver run ---\n${terminal?.output().slice(-20_000)}`);
                throw err;
            }
        });
    };
}

/** A runserver livesite runs, for the live browser's suite. */
interface Runserver {
    /** env chooses it: livesite's settings read LIVESITE_RUNSERVER. */
    env: Record<string, string>;
    /** banner is what it prints as it starts serving, which tells that it is the one that runs. */
    banner: string;
    /** shots starts the names of its screenshots in artifacts/browser. */
    shots: string;
}

/** liveBrowser is the live browser's suite: an open page shows each saved edit by itself, under runserver. */
function liveBrowser(title: string, { env, banner, shots }: Runserver): void {
    describe(title, () => {
        let project: ReturnType<typeof copyProject>;
        let terminal: Terminal;
        let live: LivePage;
        let closeBrowser: () => Promise<void>;
        let base: string;
        let views: string;
        let profile: string;

        async function screenshot(name: string): Promise<void> {
            await live.page.screenshot({ path: path.join(artifacts, `${shots}${name}.png`), fullPage: true });
        }

        const step = stepsOf(() => ({ live, terminal }), shots);

        before(async () => {
            mkdirSync(artifacts, { recursive: true });
            project = copyProject("livesite");
            views = path.join(project.dir, "livesite", "views.py");
            const port = await freePort();
            base = `http://127.0.0.1:${port}`;
            terminal = new Terminal(project.dir, port, [], env);
            await served(`${base}/version`, (body) => body === "v1");
            await waitUntil(`the server to print ${JSON.stringify(banner)}`, async () =>
                terminal.output().includes(banner) ? true : undefined, stepTimeout, () => terminal.output().slice(-2000));
            profile = mkdtempSync(path.join(os.tmpdir(), "django-runserver-chromium-"));
            const browser = await openBrowser(profile);
            closeBrowser = browser.close;
            live = new LivePage(browser.page);
        });

        after(async () => {
            await closeBrowser?.();
            await terminal?.stop();
            project?.cleanup();
            if (profile) rmSync(profile, { recursive: true, force: true });
        });

        let pid = "";

        step("opens the page, with one script tag", async () => {
            await live.page.goto(`${base}/`);
            await live.shows("v1", "#version", (t) => t === "v1");
            const html = await live.page.content();
            assert.equal(html.split("/__django_runserver__/live.js").length - 1, 1, "one script tag");
            await live.listening();
            pid = await live.text("#pid");
            await screenshot("1-opened");
        });

        step("save a view: the page shows the new content", async () => {
            const loads = live.loads;
            rewrite(views, 'VERSION = "v1"', 'VERSION = "v2"');
            await live.shows("v2", "#version", (t) => t === "v2");
            await live.reloaded(loads);
            await live.listening();
            assert.equal(live.loads - loads, 1, "the page reloads once");
            const now = await live.text("#pid");
            assert.notEqual(now, pid, "a Python edit restarts the server");
            pid = now;
            await live.listening();
            await screenshot("2-view-saved");
        });

        step("save a template: the page shows it, same pid", async () => {
            const loads = live.loads;
            rewrite(path.join(project.dir, "livesite", "templates", "page.html"), "template t1", "template t2");
            await live.shows("the new template", "#template", (t) => t === "template t2");
            await live.reloaded(loads);
            assert.equal(await live.text("#pid"), pid, "a template edit needs no restart");
            await live.listening();
            await screenshot("3-template-saved");
        });

        step("save a CSS file: the new style applies", async () => {
            const color = () => live.page.evaluate<string>("getComputedStyle(document.body).color");
            assert.equal(await color(), "rgb(0, 0, 0)");
            rewrite(path.join(project.dir, "livesite", "static", "site.css"), "rgb(0, 0, 0)", "rgb(200, 0, 0)");
            await waitUntil("the new colour", async () => ((await color()) === "rgb(200, 0, 0)" ? true : undefined), stepTimeout);
            assert.equal(await live.text("#pid"), pid, "a CSS edit needs no restart");
            await screenshot("4-css-saved");
        });

        let line = 0;

        step("save a SyntaxError: the page shows the error, with file and line", async () => {
            await live.listening();
            const loads = live.loads;
            rewrite(views, 'VERSION = "v2"', 'VERSION = "v2');
            line = readFileSync(views, "utf8").split("\n").findIndex((l) => l === 'VERSION = "v2') + 1;
            await live.shows("the exception", "#exception", (t) => t === "SyntaxError");
            await live.shows("its file and line", "#where", (t) => t === `livesite/views.py, line ${line}`);
            await live.reloaded(loads);
            await live.listening();
            await screenshot("5-syntax-error");
        });

        step("click the error's frame: without -editor the page copies file:line and says so", async () => {
            await live.page.locator("#where a[data-django-runserver-open]").click();
            const want = `${views}:${line}`;
            await live.shows("the copy note", "#django-runserver-note", (t) => t === `Copied ${want}`);
            assert.equal(await live.page.evaluate<string>("navigator.clipboard.readText()"), want);
            await screenshot("5b-frame-copied");
        });

        step("fix it: the page shows the working content", async () => {
            const loads = live.loads;
            rewrite(views, 'VERSION = "v2', 'VERSION = "v3"');
            await live.shows("v3", "#version", (t) => t === "v3");
            await live.reloaded(loads);
            await live.listening();
            assert.equal(live.loads - loads, 1, "the error page reloads once, to the fixed page");
            await screenshot("6-fixed");
        });

        step("pages the script must leave alone still serve: CSP, gzip, a fragment; a document without </body> gets it", async () => {
            await live.page.goto(`${base}/csp`);
            await live.shows("the CSP page", "p", (t) => t === "strict");
            assert.ok(!(await live.page.content()).includes("live.js"), "no tag under a CSP that forbids it");
            await waitUntil("the log to say why /csp won't refresh", async () =>
                terminal.output().includes("/csp won't refresh by itself") ? true : undefined, stepTimeout);
            await screenshot("7-csp");
            await live.page.goto(`${base}/gzip`);
            await live.shows("the gzipped page", "p", (t) => t === "compressed");
            await screenshot("8-gzip");
            await live.page.goto(`${base}/nobody`);
            await live.shows("the page without </body>", "p", (t) => t === "no end of body");
            assert.ok((await live.page.content()).includes("live.js"), "a document without </body> gets the tag at its end");
            await screenshot("9-no-body-end");
            await live.page.goto(`${base}/fragment`);
            await live.shows("the htmx-style fragment", "#fragment", (t) => t === "a fragment");
            assert.ok(!(await live.page.content()).includes("live.js"), "no tag in a fragment");
            await screenshot("10-fragment");
        });
    });
}

liveBrowser("the live browser in Chromium", { env: {}, banner: "Starting development server at", shots: "" });
// A Channels project: "daphne" first in INSTALLED_APPS, so Daphne's runserver serves the ASGI application.
liveBrowser("the live browser in Chromium under Daphne's runserver", {
    env: { LIVESITE_RUNSERVER: "daphne" },
    banner: "Starting ASGI/Daphne",
    shots: "daphne-",
});

describe("the live browser with --nothreading", () => {
    let project: ReturnType<typeof copyProject>;
    let terminal: Terminal;
    let closeBrowser: () => Promise<void>;
    let profile: string;

    before(() => {
        mkdirSync(artifacts, { recursive: true });
        project = copyProject("livesite");
        profile = mkdtempSync(path.join(os.tmpdir(), "django-runserver-chromium-"));
    });

    after(async () => {
        await closeBrowser?.();
        await terminal?.stop();
        project?.cleanup();
        rmSync(profile, { recursive: true, force: true });
    });

    it("serves other requests while a page listens, and the page follows a save", async () => {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        terminal = new Terminal(project.dir, port, ["-arg", "--nothreading"]);
        try {
            await served(`${base}/version`, (body) => body === "v1");
            const browser = await openBrowser(profile);
            closeBrowser = browser.close;
            const live = new LivePage(browser.page);
            await live.page.goto(`${base}/`);
            await live.shows("v1", "#version", (t) => t === "v1");
            await live.listening();
            // The open stream does not take the one request thread.
            assert.equal((await httpGet(`${base}/version`)).body, "v1");
            rewrite(path.join(project.dir, "livesite", "views.py"), 'VERSION = "v1"', 'VERSION = "v2"');
            await live.shows("v2", "#version", (t) => t === "v2");
            await live.page.screenshot({ path: path.join(artifacts, "10-nothreading.png"), fullPage: true });
        } catch (err) {
            console.error(`--- django-runserver run ---\n${terminal.output().slice(-20_000)}`);
            throw err;
        }
    });
});

describe("a click on a frame of Django's debug page runs -editor", () => {
    let project: ReturnType<typeof copyProject>;
    let terminal: Terminal;
    let closeBrowser: () => Promise<void>;
    let profile: string;
    let bin: string;

    before(() => {
        mkdirSync(artifacts, { recursive: true });
        project = copyProject("livesite");
        profile = mkdtempSync(path.join(os.tmpdir(), "django-runserver-chromium-"));
        bin = mkdtempSync(path.join(os.tmpdir(), "django-runserver-editor-"));
    });

    after(async () => {
        await closeBrowser?.();
        await terminal?.stop();
        project?.cleanup();
        rmSync(profile, { recursive: true, force: true });
        rmSync(bin, { recursive: true, force: true });
    });

    it("opens the view's file at the raising line with the editor command", async () => {
        // The "editor": a script that records its argv.
        const editor = path.join(bin, "editor");
        writeFileSync(editor, '#!/bin/sh\nprintf "%s\\n" "$@" > "$0.argv"\n', { mode: 0o755 });
        const views = path.join(project.dir, "livesite", "views.py");
        rewrite(views, 'return HttpResponse(VERSION, content_type="text/plain")', "raise ValueError(VERSION)");
        const line = readFileSync(views, "utf8").split("\n").findIndex((l) => l.includes("raise ValueError(VERSION)")) + 1;
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        terminal = new Terminal(project.dir, port, ["-editor", `${editor} --line={line} {file}`]);
        try {
            await served(`${base}/`, (body) => body.includes("livesite"));
            const browser = await openBrowser(profile);
            closeBrowser = browser.close;
            const live = new LivePage(browser.page);
            await live.page.goto(`${base}/version`);
            await live.shows("Django's debug page", "#summary h1", (t) => t.startsWith("ValueError"));
            const frame = live.page.locator("li.frame.user a[data-django-runserver-open]", { hasText: "views.py" }).first();
            await frame.click();
            await live.shows("the note", "#django-runserver-note", (t) => t.startsWith("Opened"));
            const argv = await waitUntil("the editor command to run", async () => {
                try {
                    return readFileSync(`${editor}.argv`, "utf8");
                } catch {
                    return undefined;
                }
            }, stepTimeout);
            assert.equal(argv, `--line=${line}\n${views}\n`);
            assert.equal(await live.page.locator("li.frame.django a[data-django-runserver-open]").count(), 0, "Django's own frames stay text");
            await live.page.screenshot({ path: path.join(artifacts, "11-frame-opened-with-editor.png"), fullPage: false });
        } catch (err) {
            console.error(`--- django-runserver run ---\n${terminal.output().slice(-20_000)}`);
            throw err;
        }
    });
});

describe("a reload keeps the page", () => {
    let project: ReturnType<typeof copyProject>;
    let terminal: Terminal;
    let live: LivePage;
    let context: BrowserContext;
    let closeBrowser: () => Promise<void>;
    let profile: string;
    let base: string;
    let views: string;
    let template: string;
    /** The event-stream messages the page received, by event name, as Chromium's network log saw them. */
    const received: string[] = [];
    /** The page's uncaught errors. */
    const errors: string[] = [];

    before(async () => {
        mkdirSync(artifacts, { recursive: true });
        project = copyProject("livesite");
        views = path.join(project.dir, "livesite", "views.py");
        template = path.join(project.dir, "livesite", "templates", "form.html");
        const port = await freePort();
        base = `http://127.0.0.1:${port}`;
        terminal = new Terminal(project.dir, port);
        await served(`${base}/version`, (body) => body === "v1");
        profile = mkdtempSync(path.join(os.tmpdir(), "django-runserver-chromium-"));
        const browser = await openTabbedBrowser(profile);
        closeBrowser = browser.close;
        context = browser.context;
        live = new LivePage(browser.page);
        live.page.on("pageerror", (err) => errors.push(err.message));
        const cdp = await context.newCDPSession(live.page);
        cdp.on("Network.eventSourceMessageReceived", (e) => received.push(e.eventName));
        await cdp.send("Network.enable");
    });

    after(async () => {
        await closeBrowser?.();
        await terminal?.stop();
        project?.cleanup();
        if (profile) rmSync(profile, { recursive: true, force: true });
    });

    const step = stepsOf(() => ({ live, terminal }));

    const scrollY = () => live.page.evaluate<number>("window.scrollY");
    const value = (selector: string) => live.page.locator(selector).inputValue({ timeout: 1000 });

    /** type fills the form as a user does (a password too, which must not be kept), and scrolls the window to y. */
    async function type(note: string, y: number): Promise<void> {
        await live.page.locator('input[name="note"]').fill(note);
        await live.page.locator('textarea[name="story"]').fill(`${note}, at length`);
        await live.page.locator('input[name="agree"]').check();
        await live.page.locator('input[name="secret"]').fill("hunter2");
        await live.page.evaluate(`window.scrollTo(0, ${y})`);
        await waitUntil(`the window to scroll to ${y}`, async () => ((await scrollY()) === y ? true : undefined), stepTimeout);
    }

    /** kept waits until the reloaded page has loaded and shows what `type` left, and returns its scroll offset. */
    async function kept(note: string, y: number): Promise<number> {
        await waitUntil("the reloaded page to finish loading", async () =>
            (await live.page.evaluate("document.readyState")) === "complete" ? true : undefined, stepTimeout);
        await waitUntil("the typed text back", async () => ((await value('input[name="note"]')) === note ? true : undefined), stepTimeout,
            () => "the note field is empty");
        assert.equal(await value('textarea[name="story"]'), `${note}, at length`);
        assert.ok(await live.page.locator('input[name="agree"]').isChecked(), "the checkbox is checked again");
        assert.equal(await value('input[name="secret"]'), "", "a password is never kept");
        let now = 0;
        const at = await waitUntil(`the window back at ${y}`, async () => {
            now = await scrollY();
            return Math.abs(now - y) <= 5 ? now : undefined;
        }, stepTimeout, () => `the window is at ${now}`);
        const left = await live.page.evaluate<number>("sessionStorage.length");
        assert.equal(left, 0, "the saved state is deleted once restored");
        return at;
    }

    step("opens the form", async () => {
        await live.page.goto(`${base}/form`);
        await live.shows("v1", "#version", (t) => t === "v1");
        await live.listening();
    });

    /**
     * survives types into the form, scrolls to y, saves an edit, and checks that the page, reloaded once to show
     * the edit (`selector` shows `shown`), still holds the text and the scroll position.
     */
    async function survives(what: string, y: number, edit: () => void, selector: string, shown: string, shot: string): Promise<void> {
        const note = `kept across a ${what}`;
        await type(note, y);
        const loads = live.loads;
        edit();
        await live.shows(shown, selector, (t) => t === shown);
        await live.reloaded(loads);
        const at = await kept(note, y);
        console.log(`after a ${what} the window is at ${at} (was ${y})`);
        assert.equal(live.loads - loads, 1, "the page reloads once");
        await live.listening();
        await live.page.screenshot({ path: path.join(artifacts, shot) });
    }

    step("a view edit: the typed text and the scroll position survive the reload", async () => {
        await survives("view edit", 1500, () => rewrite(views, 'VERSION = "v1"', 'VERSION = "v2"'), "#version", "v2", "11-kept-view.png");
    });

    step("a template edit: the typed text and the scroll position survive the reload", async () => {
        await survives("template edit", 2200, () => rewrite(template, "form f1", "form f2"), "#template", "form f2", "12-kept-template.png");
    });

    step("a SyntaxError and its fix: the error page hands the typed text and the scroll position on", async () => {
        const note = "kept through the error page";
        await type(note, 1800);
        rewrite(views, 'VERSION = "v2"', 'VERSION = "v2');
        await live.shows("the exception", "#exception", (t) => t === "SyntaxError");
        await live.listening();
        rewrite(views, 'VERSION = "v2', 'VERSION = "v2.1"');
        await live.shows("v2.1", "#version", (t) => t === "v2.1");
        const at = await kept(note, 1800);
        console.log(`after the error page and the fix the window is at ${at} (was 1800)`);
        await live.listening();
    });

    step("the user's own reload starts afresh, with the browser's own scroll restoration", async () => {
        await type("typed before the user reloads", 1234);
        const loads = live.loads;
        await live.page.reload();
        await live.reloaded(loads);
        await waitUntil("the page to finish loading", async () =>
            (await live.page.evaluate("document.readyState")) === "complete" ? true : undefined, stepTimeout);
        assert.equal(await value('input[name="note"]'), "", "nothing typed comes back");
        await waitUntil("the browser to restore its scroll", async () => ((await scrollY()) === 1234 ? true : undefined), stepTimeout);
        await live.listening();
    });

    step("a hidden tab swaps CSS in place, and reloads once, when shown, after a template and a view edit", async () => {
        await type("kept while hidden", 1000);
        const other = await context.newPage();
        try {
            await waitUntil("the page to be hidden behind the new tab", async () =>
                (await live.page.evaluate<boolean>("document.hidden")) ? true : undefined, stepTimeout);
            const loads = live.loads;
            const color = () => live.page.evaluate<string>("getComputedStyle(document.body).color");
            rewrite(path.join(project.dir, "livesite", "static", "site.css"), "rgb(0, 0, 0)", "rgb(200, 0, 0)");
            await waitUntil("the new colour in the hidden page", async () => ((await color()) === "rgb(200, 0, 0)" ? true : undefined), stepTimeout);
            const reloads = received.filter((e) => e === "reload").length;
            rewrite(template, "form f2", "form f3");
            await waitUntil("the hidden page to be told to reload", async () =>
                received.filter((e) => e === "reload").length > reloads ? true : undefined, stepTimeout);
            rewrite(views, 'VERSION = "v2.1"', 'VERSION = "v3"');
            await served(`${base}/version`, (body) => body === "v3");
            assert.equal(live.loads, loads, "a hidden page does not reload");
            assert.equal(await live.page.evaluate<boolean>("document.hidden"), true);
            await live.page.bringToFront();
            await live.shows("the new template", "#template", (t) => t === "form f3");
            await live.shows("v3", "#version", (t) => t === "v3");
            const at = await kept("kept while hidden", 1000);
            console.log(`after the hidden tab is shown the window is at ${at} (was 1000)`);
            await live.listening();
            assert.equal(live.loads - loads, 1, "the page reloads once, when shown");
            await live.page.screenshot({ path: path.join(artifacts, "13-shown-after-hidden.png") });
        } finally {
            await other.close();
        }
    });
    step("with sessionStorage full, the reload is a plain one, without errors", async () => {
        // Fill the quota to the byte: halve the item until not one more fits.
        const items = await live.page.evaluate<number>(`(() => {
            let n = 0;
            for (let size = 1 << 20; size >= 1; size >>= 1) {
                try { for (;;) sessionStorage.setItem("fill" + n++, "x".repeat(size)); } catch (e) {}
            }
            return sessionStorage.length;
        })()`);
        assert.ok(items > 0, "sessionStorage took items before it was full");
        await type("lost in a plain reload", 600);
        const loads = live.loads;
        rewrite(template, "form f3", "form f4");
        await live.shows("the new template", "#template", (t) => t === "form f4");
        await live.reloaded(loads);
        assert.equal(live.loads - loads, 1, "the page reloads once");
        assert.equal(await value('input[name="note"]'), "", "nothing could be kept");
        assert.deepEqual(errors, [], "the page script throws nothing");
        await live.page.evaluate("sessionStorage.clear()");
    });
});
