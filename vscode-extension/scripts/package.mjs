// Builds one VSIX per platform into <repo>/dist-vsix/, each bundling its cross-compiled backend
// at bin/<target>/django-runserver[.exe]. Run after the extension bundle is built (npm run build).
//
//   usage: node scripts/package.mjs [--target linux-x64] ...   (default: every target)

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createVSIX } from "@vscode/vsce";

const extensionDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(extensionDir, "..");
const outDir = path.join(repoRoot, "dist-vsix");

/** VSIX target → Go's GOOS/GOARCH. The target is also the bin/ folder the extension looks in. */
const targets = {
    "linux-x64": ["linux", "amd64"],
    "linux-arm64": ["linux", "arm64"],
    "darwin-x64": ["darwin", "amd64"],
    "darwin-arm64": ["darwin", "arm64"],
    "win32-x64": ["windows", "amd64"],
};

function requestedTargets(argv) {
    const wanted = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--target" && argv[i + 1]) wanted.push(argv[++i]);
        else throw new Error(`unknown argument ${argv[i]}; usage: package.mjs [--target ${Object.keys(targets).join("|")}]...`);
    }
    for (const t of wanted) if (!(t in targets)) throw new Error(`unknown target ${t}; known: ${Object.keys(targets).join(", ")}`);
    const chosen = wanted.length ? wanted : Object.keys(targets);
    // The host's target goes last, so bin/ is left with a backend this machine can run.
    const host = `${process.platform}-${process.arch}`;
    return [...chosen.filter((t) => t !== host), ...chosen.filter((t) => t === host)];
}

function buildBackend(target) {
    const [goos, goarch] = targets[target];
    const exe = goos === "windows" ? "django-runserver.exe" : "django-runserver";
    const output = path.join(extensionDir, "bin", target, exe);
    console.log(`go build ${goos}/${goarch} → ${path.relative(repoRoot, output)}`);
    execFileSync("go", ["build", "-trimpath", "-ldflags=-s -w", "-o", output, "./server/cmd/django-runserver"], {
        cwd: repoRoot,
        stdio: "inherit",
        env: { ...process.env, GOOS: goos, GOARCH: goarch, CGO_ENABLED: "0" },
    });
}

async function main() {
    if (!existsSync(path.join(extensionDir, "dist", "extension.js"))) {
        throw new Error("dist/extension.js is missing: run `npm run build` first");
    }
    const { version } = JSON.parse(readFileSync(path.join(extensionDir, "package.json"), "utf8"));
    mkdirSync(outDir, { recursive: true });
    for (const target of requestedTargets(process.argv.slice(2))) {
        // One backend per VSIX: clear the others out of bin/ first.
        rmSync(path.join(extensionDir, "bin"), { recursive: true, force: true });
        buildBackend(target);
        const packagePath = path.join(outDir, `django-runserver-${target}-${version}.vsix`);
        await createVSIX({
            cwd: extensionDir,
            target,
            packagePath,
            // Everything the extension needs at run time is in the esbuild bundle.
            dependencies: false,
            // The README's screenshot is shown from inside the VSIX, relative to it.
            rewriteRelativeLinks: false,
            allowMissingRepository: true,
            skipLicense: true,
        });
        console.log(`packaged ${path.relative(repoRoot, packagePath)}`);
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
