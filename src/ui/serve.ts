/**
 * The Control UI over HTTP, independent of any router: `serveUi(request, options)` answers a
 * request for the dashboard (a Response) or declines it (undefined, so the caller's 404 or
 * other routes apply). It serves
 *
 *   - our dashboard (embedded, see ./assets.ts) at `gateway.controlUi.basePath` (default "/"):
 *     hashed assets with immutable caching, precompressed br/gzip by Accept-Encoding, index.html
 *     with the base path stamped in, the SPA fallback for page routes, strict CSP and headers;
 *   - or, with `root` (`gateway.controlUi.root`), that folder instead, as upstream serves a UI
 *     folder (how a user keeps the official Control UI): see ./root.ts;
 *   - `control-ui-config.json` (and upstream's two legacy aliases), behind the caller's HTTP auth.
 *
 * Route classification follows upstream: with the root base path, `/ui` is a 404 and API
 * prefixes (`/api`, `/v1`, `/j`) are never UI paths; with a prefix, `/prefix` redirects to
 * `/prefix/`; only GET and HEAD are served.
 */
import { brotliCompressSync } from "node:zlib";
import { VERSION } from "../version.ts";
import { uiAssets, UI_BUILD_ID, type UiAsset } from "./assets.ts";
import {
  acceptedEncodings,
  acceptsHtml,
  DASHBOARD_HEADERS,
  escapeHtmlAttr,
  IMMUTABLE_CACHE,
  isStaticAssetPath,
  normalizeBasePath,
  officialHeaders,
  safeRelativePath,
  textResponse,
  uiRelativePath,
  type Encoding,
} from "./http.ts";
import { serveRootFolder, type RootOptions } from "./root.ts";

export interface ServeUiOptions {
  /** `gateway.controlUi.basePath` ("" or "/" = the root). */
  basePath?: string;
  /** `gateway.controlUi.root`: serve this folder instead of the embedded dashboard. */
  root?: string;
  /** Upstream's terminal flag: `data-openclaw-terminal-enabled` and WebAssembly in the root UI's CSP. */
  terminalEnabled?: boolean;
  /**
   * HTTP auth for `control-ui-config.json` (upstream requires the gateway token, password, a
   * device token or a trusted-proxy identity). Return a Response to refuse; undefined to allow.
   * Without it the endpoint is open: the gateway must pass its HTTP auth here.
   */
  authorize?: (request: Request) => Response | undefined | Promise<Response | undefined>;
  /** Body of `control-ui-config.json`; defaults to `bootstrapConfig({ basePath, root })`. */
  bootstrapConfig?: (request: Request) => unknown | Promise<unknown>;
}

const API_PREFIXES = ["/api", "/v1", "/j"];
const CONFIG_NAME = "/control-ui-config.json";

/** Where the bootstrap config is answered (upstream keeps two legacy aliases). */
function isBootstrapConfigPath(pathname: string, basePath: string): boolean {
  if (pathname === `${basePath}${CONFIG_NAME}` || pathname === `${basePath}/__openclaw${CONFIG_NAME}`) return true;
  return basePath === "" && pathname === `/__openclaw__${CONFIG_NAME}`;
}

export type UiRoute = { kind: "decline" } | { kind: "not-found" } | { kind: "redirect"; location: string } | { kind: "serve"; spaFallback: boolean };

export function classifyUiRequest(method: string, pathname: string, search: string, basePath: string, accept: string | null): UiRoute {
  const read = method === "GET" || method === "HEAD";
  const spaFallback = acceptsHtml(accept);
  if (!basePath) {
    if (pathname === "/ui" || pathname.startsWith("/ui/")) return { kind: "not-found" };
    if (API_PREFIXES.some((p) => pathname === p || pathname.startsWith(`${p}/`))) return { kind: "decline" };
    return read ? { kind: "serve", spaFallback } : { kind: "decline" };
  }
  if (pathname !== basePath && !pathname.startsWith(`${basePath}/`)) return { kind: "decline" };
  if (!read) return { kind: "decline" };
  if (pathname === basePath) return { kind: "redirect", location: `${basePath}/${search}` };
  return { kind: "serve", spaFallback };
}

/** The body of `control-ui-config.json` in upstream's shape, from what this gateway knows. */
export function bootstrapConfig(opts: {
  basePath?: string;
  root?: string;
  assistantName?: string;
  assistantAvatar?: string;
  assistantAgentId?: string;
  buildId?: string;
  terminalEnabled?: boolean;
  authMode?: string;
}): Record<string, unknown> {
  return {
    basePath: normalizeBasePath(opts.basePath),
    assistantName: opts.assistantName ?? "Assistant",
    assistantAvatar: opts.assistantAvatar ?? "A",
    assistantAvatarSource: null,
    assistantAvatarStatus: null,
    assistantAvatarReason: null,
    ...(opts.assistantAgentId ? { assistantAgentId: opts.assistantAgentId } : {}),
    serverVersion: VERSION,
    // Upstream omits the build id when a UI folder is configured: that UI is not ours to match.
    ...(opts.root === undefined && opts.buildId ? { serverBuildId: opts.buildId } : {}),
    embedSandbox: "scripts",
    allowExternalEmbedUrls: false,
    automaticallyFetchFavicons: true,
    communityInvite: true,
    terminalEnabled: opts.terminalEnabled === true,
    cliAgentsEnabled: true,
    pluginAssetsRequireAuth: opts.authMode !== undefined && opts.authMode !== "none",
    pluginFrameGrants: [],
  };
}

function withHead(request: Request, res: Response): Response {
  return request.method === "HEAD" ? new Response(null, { status: res.status, headers: res.headers }) : res;
}

export async function serveUi(request: Request, opts: ServeUiOptions = {}): Promise<Response | undefined> {
  const url = new URL(request.url);
  const basePath = normalizeBasePath(opts.basePath);
  const route = classifyUiRequest(request.method, url.pathname, url.search, basePath, request.headers.get("accept"));
  const headers = opts.root !== undefined ? officialHeaders() : DASHBOARD_HEADERS;
  if (route.kind === "decline") return undefined;
  if (route.kind === "not-found") return textResponse(404, "Not Found", headers);
  if (route.kind === "redirect") return new Response(null, { status: 302, headers: { ...headers, Location: route.location } });

  if (isBootstrapConfigPath(url.pathname, basePath)) {
    const refused = await opts.authorize?.(request);
    if (refused) return refused;
    const body = opts.bootstrapConfig ? await opts.bootstrapConfig(request) : bootstrapConfig({ basePath, root: opts.root, buildId: UI_BUILD_ID, terminalEnabled: opts.terminalEnabled });
    return withHead(
      request,
      new Response(JSON.stringify(body), { headers: { ...headers, "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-cache" } }),
    );
  }

  if (opts.root !== undefined) {
    const rootOpts: RootOptions = { root: opts.root, basePath, spaFallback: route.spaFallback, terminalEnabled: opts.terminalEnabled === true };
    return serveRootFolder(request, url, rootOpts);
  }
  return serveEmbedded(request, url, basePath, route.spaFallback);
}

// --- our embedded dashboard ---------------------------------------------------------------

interface RenderedIndex {
  body: Uint8Array;
  gzip: Uint8Array;
  br: Uint8Array;
  etag: string;
}

const renderedIndex = new Map<string, RenderedIndex>();

/** index.html with asset URLs anchored at the base path and the base path stamped on <html>. */
export function renderIndexHtml(html: string, basePath: string): string {
  const base = normalizeBasePath(basePath);
  return html
    .replaceAll('src="./assets/', `src="${base}/assets/`)
    .replaceAll('href="./assets/', `href="${base}/assets/`)
    .replace(/<html\b[^>]*>/i, (tag) =>
      tag.replace(/\sdata-openclaw-control-ui-base-path="[^"]*"/g, "").replace(/<html\b/i, `<html data-openclaw-control-ui-base-path="${escapeHtmlAttr(base)}"`),
    );
}

function indexFor(asset: UiAsset, basePath: string): RenderedIndex {
  let hit = renderedIndex.get(basePath);
  if (!hit) {
    const body = new TextEncoder().encode(renderIndexHtml(new TextDecoder().decode(asset.body), basePath));
    hit = {
      body,
      gzip: Bun.gzipSync(body, { level: 9 }),
      br: new Uint8Array(brotliCompressSync(body)),
      etag: `"${UI_BUILD_ID}-${new Bun.CryptoHasher("sha256").update(basePath).digest("hex").slice(0, 8)}"`,
    };
    renderedIndex.set(basePath, hit);
  }
  return hit;
}

function pick(request: Request, variants: { body: Uint8Array; gzip?: Uint8Array; br?: Uint8Array }): { encoding: Encoding; body: Uint8Array } | undefined {
  const available = new Set<"br" | "gzip">();
  if (variants.br) available.add("br");
  if (variants.gzip) available.add("gzip");
  const [best] = acceptedEncodings(request.headers.get("accept-encoding"), available);
  if (!best) return undefined;
  return { encoding: best, body: best === "br" ? variants.br! : best === "gzip" ? variants.gzip! : variants.body };
}

function notModified(request: Request, etag: string): boolean {
  const inm = request.headers.get("if-none-match");
  if (!inm) return false;
  return inm.trim() === "*" || inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

function respond(request: Request, contentType: string, variants: { body: Uint8Array; gzip?: Uint8Array; br?: Uint8Array }, cache: string, etag: string): Response {
  const base = { ...DASHBOARD_HEADERS, "Cache-Control": cache, Vary: "Accept-Encoding", ETag: etag };
  if (notModified(request, etag)) return new Response(null, { status: 304, headers: base });
  const chosen = pick(request, variants);
  if (!chosen) return textResponse(406, "Not Acceptable", { ...DASHBOARD_HEADERS, "Cache-Control": "no-store", Vary: "Accept-Encoding" });
  const headers: Record<string, string> = { ...base, "Content-Type": contentType, "Content-Length": String(chosen.body.length) };
  if (chosen.encoding !== "identity") headers["Content-Encoding"] = chosen.encoding;
  return new Response(request.method === "HEAD" ? null : chosen.body, { status: 200, headers });
}

async function serveEmbedded(request: Request, url: URL, basePath: string, spaFallback: boolean): Promise<Response | undefined> {
  const rel = safeRelativePath(uiRelativePath(url.pathname, basePath));
  if (rel === undefined) return textResponse(404, "Not Found", DASHBOARD_HEADERS);
  const assets = await uiAssets();
  const requested = rel === "" || rel.endsWith("/") ? `${rel}index.html` : rel;
  const asset = assets.get(requested);
  if (asset && requested !== "index.html") {
    return respond(request, asset.contentType, asset, asset.immutable ? IMMUTABLE_CACHE : "no-cache", `"${asset.path}"`);
  }
  if (!asset && requested !== "index.html") {
    // A missing file with a known asset extension (or a precompressed variant) is a 404; any
    // other path is a page route of the single-page app when the client accepts HTML.
    if (isStaticAssetPath(requested) || requested.endsWith(".gz") || requested.endsWith(".br")) return textResponse(404, "Not Found", DASHBOARD_HEADERS);
    if (!spaFallback) return undefined;
  }
  const index = assets.get("index.html");
  if (!index) return textResponse(503, "Control UI assets not found.", DASHBOARD_HEADERS);
  const rendered = indexFor(index, basePath);
  return respond(request, index.contentType, rendered, "no-cache", rendered.etag);
}
