#!/usr/bin/env bun
/**
 * Build the dashboard: bundle src/ui/app (TypeScript + CSS) with Bun.build into content-hashed
 * files, write index.html pointing at them, precompress each file (.gz, .br), and emit
 * src/ui/assets.generated.ts, which imports every file `with { type: "file" }` so
 * `bun build --compile` embeds them in the binary and `bun src/main.ts` reads them from disk.
 *
 *   bun scripts/build-ui.ts           rebuild src/ui/dist and the generated module
 *   bun scripts/build-ui.ts --check   build into a temp dir and fail if the committed output differs
 *
 * The output is committed, so a clean checkout serves the dashboard with no build step; a test
 * runs --check so the committed files cannot drift from the sources.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { VERSION } from "../src/version.ts";

const ROOT = resolve(import.meta.dir, "..");
const APP = join(ROOT, "src/ui/app");
const DIST = join(ROOT, "src/ui/dist");
const GENERATED = join(ROOT, "src/ui/assets.generated.ts");

/** Total size of the served files (uncompressed, minified), in bytes. */
export const BUDGET_BYTES = 300 * 1024;

export const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "application/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

export interface BuiltFile {
  /** Path under dist/, e.g. "assets/main-1a2b3c.js" or "index.html". */
  path: string;
  bytes: Uint8Array;
}

export interface BuildResult {
  files: BuiltFile[];
  buildId: string;
  totalBytes: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|css|html)$/.test(name)) out.push(full);
  }
  return out;
}

/** A stable id for this UI build: a hash of its sources. */
function sourceHash(): string {
  const h = createHash("sha256");
  for (const file of sourceFiles(APP)) {
    h.update(relative(APP, file));
    h.update(readFileSync(file));
  }
  return h.digest("hex").slice(0, 12);
}

export async function buildUi(): Promise<BuildResult> {
  const buildId = `${VERSION}-ui-${sourceHash()}`;
  const out = mkdtempSync(join(tmpdir(), "openclaw-ui-build-"));
  try {
    const result = await Bun.build({
      entrypoints: [join(APP, "main.ts"), join(APP, "styles.css")],
      outdir: out,
      target: "browser",
      format: "esm",
      minify: true,
      splitting: false,
      sourcemap: "none",
      naming: { entry: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
      define: { DASHBOARD_VERSION: JSON.stringify(VERSION), DASHBOARD_BUILD: JSON.stringify(buildId) },
    });
    if (!result.success) throw new AggregateError(result.logs, "dashboard bundle failed");
    const files: BuiltFile[] = [];
    let js = "";
    let css = "";
    for (const o of result.outputs) {
      const name = relative(out, o.path);
      if (name.endsWith(".js")) js = name;
      else if (name.endsWith(".css")) css = name;
      else throw new Error(`unexpected build output ${name}`);
      files.push({ path: `assets/${name}`, bytes: new Uint8Array(await o.arrayBuffer()) });
    }
    if (!js || !css) throw new Error("the bundle must produce one .js and one .css file");
    const html = readFileSync(join(APP, "index.html"), "utf8").replace("__JS__", js).replace("__CSS__", css);
    if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) || /\sstyle=|<style/i.test(html)) throw new Error("index.html must not carry inline script or style (CSP)");
    files.unshift({ path: "index.html", bytes: new TextEncoder().encode(html) });
    const totalBytes = files.reduce((n, f) => n + f.bytes.length, 0);
    if (totalBytes > BUDGET_BYTES) throw new Error(`dashboard is ${totalBytes} bytes, over the ${BUDGET_BYTES}-byte budget`);
    return { files, buildId, totalBytes };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function gzip(bytes: Uint8Array): Uint8Array {
  return gzipSync(bytes, { level: 9 });
}

export function brotli(bytes: Uint8Array): Uint8Array {
  return brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });
}

/** Every file to write under dist/: each built file plus its .gz and .br. */
export function distFiles(build: BuildResult): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const f of build.files) {
    out.set(f.path, f.bytes);
    out.set(`${f.path}.gz`, gzip(f.bytes));
    out.set(`${f.path}.br`, brotli(f.bytes));
  }
  return out;
}

export function generatedModule(build: BuildResult): string {
  const lines = [
    "// @ts-nocheck: TypeScript has no declarations for importing .js/.gz/.br files as files.",
    "// Generated by scripts/build-ui.ts from src/ui/app: do not edit. `bun scripts/build-ui.ts` rebuilds it.",
    "// Each file is imported `with { type: \"file\" }`: a path on disk under `bun run`, an embedded",
    "// file in a `bun build --compile` binary.",
    'import type { GeneratedUiFile } from "./assets.ts";',
  ];
  const entries: string[] = [];
  build.files.forEach((f, i) => {
    lines.push(`import f${i} from "./dist/${f.path}" with { type: "file" };`);
    lines.push(`import f${i}gz from "./dist/${f.path}.gz" with { type: "file" };`);
    lines.push(`import f${i}br from "./dist/${f.path}.br" with { type: "file" };`);
    const ext = f.path.slice(f.path.lastIndexOf(".") + 1);
    entries.push(
      `  { path: ${JSON.stringify(f.path)}, file: f${i}, gzip: f${i}gz, br: f${i}br, contentType: ${JSON.stringify(CONTENT_TYPES[ext])}, immutable: ${f.path.startsWith("assets/")}, size: ${f.bytes.length} },`,
    );
  });
  lines.push("", `export const UI_BUILD_ID = ${JSON.stringify(build.buildId)};`, "", "export const UI_FILES: GeneratedUiFile[] = [", ...entries, "];", "");
  return lines.join("\n");
}

function listDist(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listDist(full, base));
    else out.push(relative(base, full));
  }
  return out;
}

/** Differences between a fresh build and what is on disk (empty when up to date). */
export async function checkUi(): Promise<string[]> {
  const build = await buildUi();
  const want = distFiles(build);
  const problems: string[] = [];
  const have = new Set(listDist(DIST));
  for (const [path, bytes] of want) {
    if (!have.has(path)) problems.push(`missing src/ui/dist/${path}`);
    else if (!Buffer.from(readFileSync(join(DIST, path))).equals(Buffer.from(bytes))) problems.push(`stale src/ui/dist/${path}`);
    have.delete(path);
  }
  for (const extra of have) problems.push(`unexpected src/ui/dist/${extra}`);
  const gen = existsSync(GENERATED) ? readFileSync(GENERATED, "utf8") : "";
  if (gen !== generatedModule(build)) problems.push("stale src/ui/assets.generated.ts");
  return problems;
}

export async function writeUi(): Promise<BuildResult> {
  const build = await buildUi();
  rmSync(DIST, { recursive: true, force: true });
  for (const [path, bytes] of distFiles(build)) {
    const full = join(DIST, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, bytes);
  }
  writeFileSync(GENERATED, generatedModule(build));
  return build;
}

if (import.meta.main) {
  if (process.argv.includes("--check")) {
    const problems = await checkUi();
    if (problems.length) {
      console.error(`dashboard build is out of date (run \`bun scripts/build-ui.ts\`):\n  ${problems.join("\n  ")}`);
      process.exit(1);
    }
    console.log("dashboard build is up to date");
  } else {
    const build = await writeUi();
    const gz = build.files.reduce((n, f) => n + gzip(f.bytes).length, 0);
    for (const f of build.files) console.log(`  ${f.path.padEnd(32)} ${String(f.bytes.length).padStart(7)} B`);
    console.log(`dashboard ${build.buildId}: ${build.totalBytes} B minified, ${gz} B gzipped (budget ${BUDGET_BYTES} B)`);
  }
}
