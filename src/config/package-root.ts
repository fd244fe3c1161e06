/** The podd package's root folder (where package.json is), found from this module's location in src/ or dist/src/. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "protocol"))) return (cached = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find the podd package root");
    dir = parent;
  }
}
