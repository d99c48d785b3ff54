import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mayShowDocument } from "../../src/showDocument";

describe("mayShowDocument", () => {
    const folders = ["file:///home/me/shop", "file:///srv/blog/"];
    const cases: [string, string, boolean, boolean, boolean?][] = [
        ["a file of a folder", "file:///home/me/shop/shop/views.py", true, true],
        ["a file of the second folder", "file:///srv/blog/posts/views.py", true, true],
        ["an untrusted workspace", "file:///home/me/shop/shop/views.py", false, false],
        ["a file outside every folder", "file:///etc/passwd", true, false],
        ["a sibling whose name starts like a folder", "file:///home/me/shopping/views.py", true, false],
        ["a .. escape", "file:///home/me/shop/../secret.py", true, false],
        ["an encoded .. escape", "file:///home/me/shop/%2E%2E/secret.py", true, false],
        ["another scheme", "https://evil.example/home/me/shop/x.py", true, false],
        ["a file on another host", "file://server/home/me/shop/x.py", true, false],
        ["external", "file:///home/me/shop/shop/views.py", true, false, true],
        ["not a URI", "views.py", true, false],
    ];
    for (const [name, uri, trusted, want, external] of cases) {
        it(name, () => assert.equal(mayShowDocument({ uri, external }, trusted, folders), want));
    }
});
