#!/usr/bin/env node
// Build a JavaScript claim provider into a WebAssembly component.
//
//   sigil-plugin-build src/plugin.js --out dist/my-plugin/my-plugin.wasm
//
// The entry module must `export const claims = claimProvider(...)`. It is
// bundled with esbuild (so npm dependencies and the SDK are inlined), then
// componentize-js embeds it into the StarlingMonkey (SpiderMonkey) runtime,
// pre-initialised with Wizer, targeting the `claim-provider` world of
// sigil:plugin@0.1.0. The component is about 12 MB; Sigil compiles it once
// at load and caches the machine code (see plugin-sdk/README.md).
import { realpathSync } from "node:fs";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Build `entry` into the component file `out`. */
export async function build(entry, out) {
  const { build: bundle } = await import("esbuild");
  const { componentize } = await import("@bytecodealliance/componentize-js");
  const work = await mkdtemp(join(tmpdir(), "sigil-plugin-build-"));
  try {
    const bundled = join(work, "plugin.js");
    await bundle({
      entryPoints: [resolve(entry)],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      outfile: bundled,
      external: ["sigil:*", "wasi:*"],
      alias: { "sigil-plugin-sdk": join(sdk, "src/index.js") },
      logLevel: "warning",
    });
    const started = Date.now();
    const { component } = await componentize({
      sourcePath: bundled,
      witPath: join(sdk, "wit"),
      worldName: "claim-provider",
      // Every feature stays on: fetch() needs http, clocks and random; stdio
      // carries uncaught errors to Sigil's log.
    });
    await mkdir(dirname(resolve(out)), { recursive: true });
    await writeFile(out, component);
    console.error(`sigil-plugin-build: ${out} (${(component.length / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// Run as a command (also through node_modules/.bin, a symlink), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: "string", short: "o" } },
  });
  if (positionals.length !== 1 || !values.out) {
    console.error("usage: sigil-plugin-build <entry.js> --out <component.wasm>");
    process.exit(2);
  }
  await build(positionals[0], values.out);
}
