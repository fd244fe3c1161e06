// Build step after tsc: bundle the pod process entry (src/daemon-main.ts) with its dependencies
// into dist/src/daemon-main.js, with code split at dynamic imports (the model SDKs, bash, grep
// load only when used) into dist/src/chunks/. One file instead of ~150 modules saves about a
// quarter of a pod's start-up (docs/benchmarks.md, "Start-up"). The CLI and the TUI stay tsc's
// per-module output. @vscode/ripgrep stays external: it locates its binary next to itself.
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "dist", "src");
rmSync(path.join(outdir, "chunks"), { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, "src", "daemon-main.ts")],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  external: ["@vscode/ripgrep"],
  sourcemap: true,
  logLevel: "warning",
  // CommonJS dependencies bundled into ESM still expect these.
  banner: {
    js: [
      'import { createRequire as __poddCreateRequire } from "node:module";',
      'import { fileURLToPath as __poddFileURLToPath } from "node:url";',
      'import { dirname as __poddDirname } from "node:path";',
      "const require = __poddCreateRequire(import.meta.url);",
      "const __filename = __poddFileURLToPath(import.meta.url);",
      "const __dirname = __poddDirname(__filename);",
    ].join(" "),
  },
});
