// Decides whether a crashed backend may be restarted: at most `max` restarts within `windowMs`.
// Pure (the clock is injected), so it is unit tested; ctx.ts uses it in the language
// client's errorHandler.

export class RestartLimiter {
    private readonly crashes: number[] = [];

    constructor(
        readonly max = 4,
        readonly windowMs = 3 * 60_000,
        private readonly now: () => number = Date.now,
    ) {}

    /** recordCrash notes a crash and says whether another restart is allowed. */
    recordCrash(): boolean {
        const t = this.now();
        while (this.crashes.length && t - this.crashes[0] >= this.windowMs) this.crashes.shift();
        this.crashes.push(t);
        return this.crashes.length <= this.max;
    }

    /** reset forgets past crashes, e.g. when the user restarts the backend by hand. */
    reset(): void {
        this.crashes.length = 0;
    }

    describe(): string {
        return `The backend crashed ${this.max + 1} times in the last ${Math.round(this.windowMs / 60_000)} minutes`;
    }
}
