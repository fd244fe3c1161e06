// Build step after tsc: bundle the two entries users start — the pod process
// (src/daemon-main.ts → dist/src/daemon-main.js) and the CLI with its lazily loaded commands and
// the terminal UI (src/cli/main.ts → dist/src/cli/main.js) — each with its dependencies, split at
// dynamic imports into a chunks/ folder beside it (the model SDKs, bash and grep in the pod; each
// command and the TUI in the CLI load only when used). One file instead of hundreds of modules
// saves a third of a pod's start-up and two thirds of the TUI's load (docs/benchmarks.md). The
// other files tsc writes stay for tests and tools. @vscode/ripgrep stays external: it locates its
// binary next to itself; so does koffi (the peer-credential check's FFI: it loads its prebuilt
// addon from its per-platform package); react-devtools-core is Ink's optional development hook.
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

// CommonJS dependencies bundled into ESM still expect these.
const banner = [
  'import { createRequire as __poddCreateRequire } from "node:module";',
  'import { fileURLToPath as __poddFileURLToPath } from "node:url";',
  'import { dirname as __poddDirname } from "node:path";',
  "const require = __poddCreateRequire(import.meta.url);",
  "const __filename = __poddFileURLToPath(import.meta.url);",
  "const __dirname = __poddDirname(__filename);",
].join(" ");

for (const [entry, outdir] of [
  ["src/daemon-main.ts", "dist/src"],
  ["src/cli/main.ts", "dist/src/cli"],
]) {
  rmSync(path.join(root, outdir, "chunks"), { recursive: true, force: true });
  await build({
    entryPoints: [path.join(root, entry)],
    outdir: path.join(root, outdir),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    chunkNames: "chunks/[name]-[hash]",
    external: ["@vscode/ripgrep", "koffi", "react-devtools-core"],
    sourcemap: true,
    logLevel: "warning",
    banner: { js: banner },
  });
}
