/**
 * Small HTTP pieces the UI handler needs: content negotiation (Accept, Accept-Encoding), the
 * Control UI's content types, base-path normalisation, the security headers and CSPs.
 */

/** "" for the root, else "/prefix" (leading slash, no trailing slash), as upstream normalises it. */
export function normalizeBasePath(basePath: string | undefined): string {
  const v = basePath?.trim() ?? "";
  if (!v || v === "/") return "";
  const withSlash = v.startsWith("/") ? v : `/${v}`;
  return withSlash.endsWith("/") ? withSlash.replace(/\/+$/, "") : withSlash;
}

export type Encoding = "br" | "gzip" | "identity";

/**
 * Encodings the client accepts among `available` (plus identity), best first; br wins a tie.
 * An empty list means nothing acceptable (406).
 */
export function acceptedEncodings(header: string | null, available: ReadonlySet<"br" | "gzip">): Encoding[] {
  if (!header?.trim()) return ["identity"];
  const q = new Map<string, number>();
  for (const entry of header.split(",")) {
    const [rawName, ...params] = entry.split(";");
    const name = rawName.trim().toLowerCase();
    if (!name) continue;
    const qText = params.find((p) => p.trim().toLowerCase().startsWith("q="))?.trim().slice(2);
    const parsed = qText === undefined ? 1 : /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(qText) ? Number(qText) : 0;
    q.set(name, Math.max(q.get(name) ?? 0, parsed));
  }
  const wildcard = q.get("*");
  const identity = q.get("identity") ?? (wildcard === 0 ? 0 : 1);
  const quality = (e: Encoding) => (e === "identity" ? identity : (q.get(e) ?? wildcard ?? 0));
  return (["br", "gzip", "identity"] as const)
    .filter((e) => (e === "identity" || available.has(e)) && quality(e) > 0)
    .sort((a, b) => quality(b) - quality(a));
}

/**
 * Whether an Accept header lets us answer with HTML (the SPA fallback). No header or a bare
 * wildcard does; an explicit `text/html;q=0` overrides a broader wildcard.
 */
export function acceptsHtml(header: string | null): boolean {
  const v = header?.trim();
  if (!v) return true;
  let best: { specificity: number; q: number } | undefined;
  for (const entry of v.split(",")) {
    const [range, ...params] = entry.split(";");
    const [type, subtype] = range.trim().toLowerCase().split("/");
    if (!type || !subtype) continue;
    const qText = params.find((p) => p.trim().toLowerCase().startsWith("q="))?.trim().slice(2);
    const qv = qText === undefined ? 1 : Number(qText);
    const q = Number.isFinite(qv) ? qv : 0;
    let specificity = -1;
    if (type === "text" && subtype === "html") specificity = 2;
    else if (type === "application" && subtype === "xhtml+xml") specificity = 2;
    else if (type === "text" && subtype === "*") specificity = 1;
    else if (type === "*" && subtype === "*") specificity = 0;
    if (specificity < 0) continue;
    if (!best || specificity > best.specificity || (specificity === best.specificity && q > best.q)) best = { specificity, q };
  }
  return (best?.q ?? 0) > 0;
}

/** The Control UI's content types by extension (upstream's table). */
export const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "application/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".woff2": "font/woff2",
};

export function extname(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot).toLowerCase() : "";
}

/** A known static-file extension other than .html: a miss is a 404, never the SPA page. */
export function isStaticAssetPath(path: string): boolean {
  const ext = extname(path);
  return ext !== ".html" && ext !== "" && Object.hasOwn(CONTENT_TYPES, ext);
}

export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";

/**
 * CSP of our own dashboard: our scripts and styles only (no inline code, no eval, Trusted
 * Types enforced), the gateway over ws:/wss: (it may live on another origin), data: images
 * for the empty favicon, no framing, no plugins, no forms posting anywhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "manifest-src 'self'",
  "worker-src 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Headers on every response of our dashboard. */
export const DASHBOARD_HEADERS: Record<string, string> = {
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": DASHBOARD_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/**
 * The CSP upstream sends with a Control UI it serves from `gateway.controlUi.root`: its inline
 * scripts are allowed by SHA-256 hash, WebAssembly only with the terminal, and the page's own
 * host on any port for the local portal.
 */
export function officialCsp(opts: { inlineScriptHashes?: string[]; allowWasm?: boolean; portalHost?: string | null } = {}): string {
  const script = ["'self'", ...(opts.inlineScriptHashes ?? []).map((h) => `'${h}'`)];
  if (opts.allowWasm) script.push("'wasm-unsafe-eval'");
  const connect = ["'self'", "ws:", "wss:", "data:", "https://api.openai.com", "https://tweakcn.com"];
  if (opts.portalHost) {
    try {
      const u = new URL(`http://${opts.portalHost}`);
      if (!u.username && !u.password && u.pathname === "/" && !u.search && !u.hash && u.hostname) {
        connect.push(`http://${u.hostname}:*`, `https://${u.hostname}:*`);
      }
    } catch {
      // an unparseable Host adds nothing
    }
  }
  return [
    "default-src 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "frame-src 'self' http: https:",
    `script-src ${script.join(" ")}`,
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
    "img-src 'self' data: blob: https:",
    "media-src 'self' data: blob:",
    "font-src 'self' https://fonts.gstatic.com",
    "worker-src 'self'",
    `connect-src ${connect.join(" ")}`,
  ].join("; ");
}

/** Headers upstream puts on every Control UI response when serving a UI folder. */
export function officialHeaders(csp = officialCsp()): Record<string, string> {
  return {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": csp,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=*, geolocation=*, clipboard-write=*",
  };
}

/** `sha256-<base64>` of each inline `<script>` (one without a src attribute) in a page. */
export function inlineScriptHashes(html: string): string[] {
  const out: string[] = [];
  const re = /<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const attrs = m[1] ?? "";
    if (/(?:^|\s)src\s*(=|\s|$)/i.test(attrs)) continue;
    if (!m[2]) continue;
    out.push(`sha256-${new Bun.CryptoHasher("sha256").update(m[2]).digest("base64")}`);
  }
  return out;
}

export function escapeHtmlAttr(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("'", "&#39;");
}

export function textResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
}

/** The path of a UI file for a request path under the base path ("" = index.html). */
export function uiRelativePath(pathname: string, basePath: string): string {
  const uiPath = basePath && pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : pathname;
  if (uiPath === "/") return "";
  const assets = uiPath.indexOf("/assets/");
  if (assets >= 0) return uiPath.slice(assets + 1);
  return uiPath.slice(1);
}

/** Decoded, normalised relative path, or undefined when it is unsafe (traversal, NUL, absolute). */
export function safeRelativePath(rel: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  if (decoded.startsWith("/") || /^[a-zA-Z]:/.test(decoded)) return undefined;
  const parts: string[] = [];
  for (const seg of decoded.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return undefined;
    parts.push(seg);
  }
  const joined = parts.join("/");
  return decoded.endsWith("/") && joined ? `${joined}/` : joined;
}
