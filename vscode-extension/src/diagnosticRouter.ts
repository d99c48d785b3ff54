// Diagnostics moved from the file the backend published them on to another, and kept in step with
// each later publish. Pure (no `vscode` import), so it is unit tested; settingDiagnostics.ts routes
// the language client's diagnostics through it.

/** Where a diagnostic goes: a file, and the diagnostic to show there. */
export interface Placement<D> {
    uri: string;
    diagnostic: D;
}

/**
 * DiagnosticRouter keeps track of diagnostics that were moved from the file the backend published
 * them on to another file, so that each later publish for the first file (a clear, above all)
 * updates both. Several files can move diagnostics into one: two folders into one workspace file.
 */
export class DiagnosticRouter<D> {
    /** For each target file, the diagnostics each published file placed there. */
    private readonly placed = new Map<string, Map<string, D[]>>();

    /**
     * publish takes the backend's diagnostics for a file, places each with `place` (undefined keeps
     * it as it is), and returns every file whose diagnostics changed, with its full new list.
     */
    publish(source: string, diagnostics: readonly D[], place: (d: D) => Placement<D> | undefined): [string, D[]][] {
        const touched = new Set<string>([source]);
        for (const [target, bySource] of this.placed) {
            if (bySource.delete(source)) touched.add(target);
        }
        for (const d of diagnostics) {
            const p = place(d) ?? { uri: source, diagnostic: d };
            let bySource = this.placed.get(p.uri);
            if (!bySource) this.placed.set(p.uri, (bySource = new Map()));
            bySource.set(source, [...(bySource.get(source) ?? []), p.diagnostic]);
            touched.add(p.uri);
        }
        return [...touched].map((uri) => [uri, this.diagnosticsOf(uri)]);
    }

    /** diagnosticsOf lists what a file shows: what any publish placed there. */
    private diagnosticsOf(uri: string): D[] {
        const bySource = this.placed.get(uri);
        if (bySource && bySource.size === 0) this.placed.delete(uri);
        return [...(bySource?.values() ?? [])].flat();
    }

    /** clear forgets everything, when the language client clears its diagnostics. */
    clear(): void {
        this.placed.clear();
    }
}
