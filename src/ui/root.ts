/**
 * `gateway.controlUi.root`: serve a Control UI folder (the official one, unpacked from the
 * openclaw package) as upstream serves a configured root:
 *
 *   - files inside the folder only (no `..`, no symlink leading out, no hard-linked files);
 *   - `Cache-Control: no-cache` with `Last-Modified` (304 on `If-Modified-Since`), identity
 *     encoding for files; index.html compressed on the fly by Accept-Encoding;
 *   - index.html with `./assets/` and the root public files anchored at the base path, the
 *     base path and terminal flag stamped on <html> (a shipped build-id attribute is removed:
 *     this UI is not the gateway's own build), and a CSP allowing its inline scripts by hash;
 *   - the SPA fallback for page routes, 404 for missing static files;
 *   - upstream's headers on every response (X-Frame-Options DENY, CSP, nosniff, no-referrer).
 */
import { realpath, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import {
  acceptedEncodings,
  CONTENT_TYPES,
  escapeHtmlAttr,
  extname,
  inlineScriptHashes,
  isStaticAssetPath,
  officialCsp,
  officialHeaders,
  safeRelativePath,
  textResponse,
  uiRelativePath,
} from "./http.ts";

export interface RootOptions {
  root: string;
  basePath: string;
  spaFallback: boolean;
  terminalEnabled: boolean;
}

/** Root-level files of the official UI build, served under any base path. */
export const ROOT_PUBLIC_ASSETS = ["apple-touch-icon.png", "favicon-32.png", "favicon.ico", "favicon.svg", "manifest.webmanifest", "sw.js"];

const NAMESPACE = "/__openclaw__/";

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

interface OpenedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** The file at `rel` inside the real root, or undefined (missing, a directory, outside, hard-linked). */
async function safeFile(rootReal: string, rel: string): Promise<OpenedFile | undefined> {
  const lexical = resolve(rootReal, rel);
  if (!within(rootReal, lexical)) return undefined;
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    return undefined;
  }
  if (!within(rootReal, real)) return undefined;
  try {
    const st = await stat(real);
    if (!st.isFile() || st.nlink > 1) return undefined;
    return { path: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** upstream's asset rewrite: `./assets/…` and root public files under the base path. */
export function rewriteOfficialIndex(html: string, basePath: string, terminalEnabled: boolean): string {
  const replacements = new Map<string, string>([
    ['src="./assets/', `src="${basePath}/assets/`],
    ['href="./assets/', `href="${basePath}/assets/`],
  ]);
  for (const asset of ROOT_PUBLIC_ASSETS) {
    const href = `href="${basePath}/${asset}"`;
    replacements.set(`href="./${asset}"`, href);
    replacements.set(`href="/${asset}"`, href);
  }
  let out = html;
  for (const [from, to] of replacements) out = out.replaceAll(from, to);
  return out.replace(/<html\b[^>]*>/i, (tag) =>
    tag
      .replace(/\sdata-openclaw-control-ui-build-id="[^"]*"/g, "")
      .replace(/\sdata-openclaw-control-ui-base-path="[^"]*"/g, "")
      .replace(/\sdata-openclaw-terminal-enabled="[^"]*"/g, "")
      .replace(/<html\b/i, `<html data-openclaw-control-ui-base-path="${escapeHtmlAttr(basePath)}" data-openclaw-terminal-enabled="${terminalEnabled}"`),
  );
}

function lastModified(mtimeMs: number): { ms: number; text: string } {
  const ms = Math.floor(Math.min(mtimeMs, Date.now()) / 1000) * 1000;
  return { ms, text: new Date(ms).toUTCString() };
}

function unmodified(request: Request, ms: number): boolean {
  const inm = request.headers.get("if-none-match");
  if (inm !== null) return inm.trim() === "*";
  const ims = request.headers.get("if-modified-since");
  if (!ims) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && ms <= since;
}

const htmlCache = new Map<string, Uint8Array>();

function compressHtml(body: string, encoding: "br" | "gzip"): Uint8Array {
  const key = `${encoding}\0${body}`;
  let hit = htmlCache.get(key);
  if (!hit) {
    const bytes = new TextEncoder().encode(body);
    hit = encoding === "br" ? new Uint8Array(brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })) : new Uint8Array(gzipSync(bytes, { level: 6 }));
    // A handful of variants (base path × encoding) at most; keep the cache that small.
    if (htmlCache.size >= 4) htmlCache.delete(htmlCache.keys().next().value!);
    htmlCache.set(key, hit);
  }
  return hit;
}

export async function serveRootFolder(request: Request, url: URL, opts: RootOptions): Promise<Response | undefined> {
  const headers = officialHeaders();
  let rootReal: string;
  try {
    rootReal = await realpath(opts.root);
    if (!(await stat(rootReal)).isDirectory()) throw new Error("not a directory");
  } catch {
    return textResponse(503, `Control UI assets not found at ${opts.root}. Build them with \`pnpm ui:build\` (auto-installs UI deps), or update gateway.controlUi.root.`, headers);
  }
  const uiPath = opts.basePath && url.pathname.startsWith(`${opts.basePath}/`) ? url.pathname.slice(opts.basePath.length) : url.pathname;
  let rel = uiRelativePath(url.pathname, opts.basePath);
  if (uiPath.startsWith(NAMESPACE) && ROOT_PUBLIC_ASSETS.includes(uiPath.slice(NAMESPACE.length))) rel = uiPath.slice(NAMESPACE.length);
  if (uiPath === "/share/card.png") rel = "social-card.png";
  const safe = safeRelativePath(rel);
  if (safe === undefined) return textResponse(404, "Not Found", headers);
  const requested = safe === "" || safe.endsWith("/") ? `${safe}index.html` : safe;
  let file = await safeFile(rootReal, requested);

  if (file && !requested.endsWith("index.html")) {
    const ext = extname(requested);
    const lm = lastModified(file.mtimeMs);
    const fileHeaders: Record<string, string> = {
      ...headers,
      "Content-Type": CONTENT_TYPES[ext] ?? "application/octet-stream",
      "Cache-Control": "no-cache",
      "Last-Modified": lm.text,
      Vary: "Accept-Encoding",
    };
    if (acceptedEncodings(request.headers.get("accept-encoding"), new Set()).length === 0) {
      return textResponse(406, "Not Acceptable", { ...headers, "Cache-Control": "no-store", Vary: "Accept-Encoding" });
    }
    if ((request.method === "GET" || request.method === "HEAD") && unmodified(request, lm.ms)) {
      return new Response(null, { status: 304, headers: { ...headers, "Cache-Control": "no-cache", "Last-Modified": lm.text, Vary: "Accept-Encoding" } });
    }
    if (request.method === "HEAD") return new Response(null, { status: 200, headers: { ...fileHeaders, "Content-Length": String(file.size) } });
    return new Response(Bun.file(file.path), { status: 200, headers: fileHeaders });
  }

  if (!file) {
    if (isStaticAssetPath(requested)) return textResponse(404, "Not Found", headers);
    if (!opts.spaFallback) return undefined;
    file = await safeFile(rootReal, "index.html");
    if (!file) return textResponse(404, "Not Found", headers);
  }

  const [encoding] = acceptedEncodings(request.headers.get("accept-encoding"), new Set(["br", "gzip"]));
  if (!encoding) return textResponse(406, "Not Acceptable", { ...headers, "Cache-Control": "no-store", Vary: "Accept-Encoding" });
  const html = rewriteOfficialIndex(await Bun.file(file.path).text(), opts.basePath, opts.terminalEnabled);
  const csp = officialCsp({ inlineScriptHashes: inlineScriptHashes(html), allowWasm: opts.terminalEnabled, portalHost: request.headers.get("host") });
  const htmlHeaders: Record<string, string> = {
    ...officialHeaders(csp),
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-cache",
    Vary: "Accept-Encoding",
  };
  if (encoding !== "identity") htmlHeaders["Content-Encoding"] = encoding;
  if (request.method === "HEAD") return new Response(null, { status: 200, headers: htmlHeaders });
  return new Response(encoding === "identity" ? html : compressHtml(html, encoding), { status: 200, headers: htmlHeaders });
}
