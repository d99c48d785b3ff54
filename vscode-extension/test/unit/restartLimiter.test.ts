import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RestartLimiter } from "../../src/restartLimiter";

describe("RestartLimiter", () => {
    it("allows 4 restarts in 3 minutes, refuses the 5th", () => {
        let now = 0;
        const limiter = new RestartLimiter(4, 180_000, () => now);
        for (let i = 0; i < 4; i++) {
            assert.equal(limiter.recordCrash(), true, `crash ${i + 1}`);
            now += 10_000;
        }
        assert.equal(limiter.recordCrash(), false);
    });

    it("forgets crashes older than the window", () => {
        let now = 0;
        const limiter = new RestartLimiter(4, 180_000, () => now);
        for (let i = 0; i < 4; i++) limiter.recordCrash();
        now = 180_000;
        assert.equal(limiter.recordCrash(), true);
    });

    it("reset starts over", () => {
        const limiter = new RestartLimiter(1, 180_000, () => 0);
        limiter.recordCrash();
        assert.equal(limiter.recordCrash(), false);
        limiter.reset();
        assert.equal(limiter.recordCrash(), true);
    });
});
