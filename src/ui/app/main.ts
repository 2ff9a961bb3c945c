/**
 * The dashboard's entry: reads the base path the gateway stamped on <html>, takes a token (and
 * optionally a gateway URL) from the address bar's fragment and removes them from it, starts the
 * gateway client and routes between the pages. Everything is built with DOM calls: no inline
 * script or style, no eval, nothing from another origin.
 */
import { h, replace } from "./dom.ts";
import { GatewayClient, type ConnState } from "./gateway.ts";
import { loadChosenGateway, loadToken, normalizeGatewayUrl, saveChosenGateway, saveToken } from "./storage.ts";
import { chatPage } from "./pages/chat.ts";
import { configPage } from "./pages/config.ts";
import { devicesPage } from "./pages/devices.ts";
import { logsPage } from "./pages/logs.ts";
import { sessionsPage } from "./pages/sessions.ts";
import { statusPage } from "./pages/status.ts";
import { uuid } from "./dom.ts";

declare const DASHBOARD_VERSION: string;
declare const DASHBOARD_BUILD: string;

export interface PageContext {
  client: GatewayClient;
  basePath: string;
  navigate(path: string): void;
  params: URLSearchParams;
}

export interface PageInstance {
  el: HTMLElement;
  /** Called on every (re)connect, and once at mount when already connected. */
  connected?(): void;
  dispose?(): void;
}

type PageFactory = (ctx: PageContext) => PageInstance;

const ROUTES: Array<{ path: string; title: string; page: PageFactory }> = [
  { path: "/chat", title: "Chat", page: chatPage },
  { path: "/sessions", title: "Sessions", page: sessionsPage },
  { path: "/devices", title: "Devices", page: devicesPage },
  { path: "/logs", title: "Logs", page: logsPage },
  { path: "/status", title: "Status", page: statusPage },
  { path: "/config", title: "Config", page: configPage },
];

function basePathOf(): string {
  const raw = document.documentElement.getAttribute("data-openclaw-control-ui-base-path") ?? "";
  const v = raw.trim();
  if (!v || v === "/") return "";
  const withSlash = v.startsWith("/") ? v : `/${v}`;
  return withSlash.replace(/\/+$/, "");
}

/** Credentials and a gateway choice from `#token=…&gatewayUrl=…` (or `?token=`), then removed. */
function takeFromAddressBar(): { token?: string; gatewayUrl?: string } {
  const url = new URL(location.href);
  const hash = new URLSearchParams(url.hash.startsWith("#") ? url.hash.slice(1) : url.hash);
  const query = url.searchParams;
  const token = hash.get("token") ?? query.get("token") ?? undefined;
  const gatewayUrl = hash.get("gatewayUrl") ?? query.get("gatewayUrl") ?? undefined;
  let changed = false;
  for (const key of ["token", "gatewayUrl", "password"]) {
    if (hash.has(key)) {
      hash.delete(key);
      changed = true;
    }
    if (query.has(key)) {
      query.delete(key);
      changed = true;
    }
  }
  if (query.has("token")) console.warn("[openclaw] a token in the query string can end up in server logs; use #token=");
  if (changed) {
    const rest = hash.toString();
    history.replaceState(history.state, "", `${url.pathname}${query.size ? `?${query}` : ""}${rest ? `#${rest}` : ""}`);
  }
  return { token: token?.trim() || undefined, gatewayUrl: gatewayUrl?.trim() || undefined };
}

function start(): void {
  const basePath = basePathOf();
  const defaultUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${basePath}`;
  const fromBar = takeFromAddressBar();
  const root = document.getElementById("app")!;

  // A link naming another gateway is confirmed before anything (the token included) goes there.
  const current = loadChosenGateway() ?? defaultUrl;
  if (fromBar.gatewayUrl && normalizeGatewayUrl(fromBar.gatewayUrl) !== normalizeGatewayUrl(current)) {
    const target = fromBar.gatewayUrl;
    replace(
      root,
      h(
        "div",
        { class: "card center", id: "gateway-confirm" },
        h("h2", null, "Connect to another gateway?"),
        h("p", null, "This link points the dashboard at:"),
        h("code", { class: "block" }, target),
        h(
          "div",
          { class: "row" },
          h("button", { class: "primary", id: "gateway-confirm-yes", onclick: () => {
            saveChosenGateway(normalizeGatewayUrl(target) === normalizeGatewayUrl(defaultUrl) ? undefined : target);
            boot(root, basePath, target, fromBar.token);
          } }, "Connect"),
          h("button", { id: "gateway-confirm-no", onclick: () => boot(root, basePath, current, undefined) }, "Cancel"),
        ),
      ),
    );
    return;
  }
  boot(root, basePath, current, fromBar.token);
}

function boot(root: HTMLElement, basePath: string, gatewayUrl: string, fragmentToken: string | undefined): void {
  let token = fragmentToken ?? loadToken(gatewayUrl);
  const client = new GatewayClient({
    url: gatewayUrl,
    token: () => token,
    version: DASHBOARD_VERSION,
    buildId: DASHBOARD_BUILD,
    instanceId: uuid(),
  });
  (globalThis as any).__dashboard = { client };

  const pill = h("span", { class: "pill", id: "conn" }, "connecting");
  const banner = h("div", { class: "banner hidden", id: "banner", role: "status" });
  const overlay = h("div", { class: "overlay hidden", id: "overlay" });
  const main = h("main", { id: "main" });
  const nav = h("nav", { id: "nav" });
  replace(
    root,
    h("header", null, h("strong", { class: "brand" }, "OpenClaw"), h("span", { class: "muted" }, "dashboard"), h("span", { class: "spacer" }), pill),
    h("div", { class: "layout" }, nav, h("div", { class: "content" }, banner, overlay, main)),
  );

  let page: PageInstance | undefined;
  let route = "";
  const routeOf = (pathname: string) => {
    const rel = pathname.startsWith(basePath) ? pathname.slice(basePath.length) || "/" : "/";
    const r = ROUTES.find((x) => rel === x.path || rel.startsWith(`${x.path}/`));
    return r ?? ROUTES[0];
  };
  const render = () => {
    const r = routeOf(location.pathname);
    route = r.path;
    page?.dispose?.();
    document.title = `${r.title} · OpenClaw`;
    replace(
      nav,
      ROUTES.map((x) =>
        h("a", { href: `${basePath}${x.path}`, class: x.path === route ? "active" : "", "data-route": x.path.slice(1), onclick: (ev: Event) => {
          ev.preventDefault();
          navigate(x.path);
        } }, x.title),
      ),
    );
    page = r.page({ client, basePath, navigate, params: new URLSearchParams(location.search) });
    replace(main, page.el);
    if (client.connected) page.connected?.();
  };
  const navigate = (path: string) => {
    history.pushState(null, "", `${basePath}${path}`);
    render();
  };
  addEventListener("popstate", render);

  let wasConnected = false;
  let ticker: ReturnType<typeof setInterval> | undefined;
  client.onState((s) => {
    showConnection(s, pill, banner, overlay, client, (secret) => {
      token = secret;
      client.retryNow();
    });
    clearInterval(ticker);
    if (s.retryAt) ticker = setInterval(() => showBanner(client.state, banner, client), 1000);
    if (s.phase === "connected" && !wasConnected) {
      // Keep the shared token for this tab only when the gateway runs token auth, as upstream.
      if (token) saveToken(gatewayUrl, s.hello?.snapshot?.authMode === "token" ? token : "");
      page?.connected?.();
    }
    wasConnected = s.phase === "connected";
  });
  render();
  client.start();
}

function showConnection(
  s: ConnState,
  pill: HTMLElement,
  banner: HTMLElement,
  overlay: HTMLElement,
  client: GatewayClient,
  submitSecret: (secret: string) => void,
): void {
  const labels: Record<ConnState["phase"], string> = {
    connecting: "connecting",
    connected: "connected",
    reconnecting: "disconnected",
    restarting: "restarting",
    "auth-required": "sign-in required",
    "pairing-required": "pairing required",
    stopped: "stopped",
  };
  pill.textContent = labels[s.phase];
  pill.className = `pill ${s.phase}`;
  pill.setAttribute("data-phase", s.phase);
  showBanner(s, banner, client);
  showOverlay(s, overlay, client, submitSecret);
}

function showBanner(s: ConnState, banner: HTMLElement, client: GatewayClient): void {
  const wait = s.retryAt ? Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000)) : undefined;
  if (s.phase === "restarting") {
    setBanner(banner, "warn", `Gateway is restarting${s.restartExpectedMs ? ` (expected back in ${Math.ceil(s.restartExpectedMs / 1000)} s)` : ""}. Reconnecting${wait !== undefined ? ` in ${wait} s` : ""}…`, client);
  } else if (s.phase === "reconnecting") {
    const why = s.closeCode ? ` (closed ${s.closeCode}${s.closeReason ? `: ${s.closeReason}` : ""})` : "";
    setBanner(banner, "error", `Gateway unreachable${why}. Retrying${wait !== undefined ? ` in ${wait} s` : ""}…`, client);
  } else {
    banner.className = "banner hidden";
    banner.replaceChildren();
  }
}

function showOverlay(s: ConnState, overlay: HTMLElement, client: GatewayClient, submitSecret: (secret: string) => void): void {
  if (s.phase === "auth-required") {
    const existing = overlay.querySelector("#login-error");
    if (existing) {
      // Keep what the user is typing; only the reason changes.
      existing.textContent = s.error?.message ?? "Authentication required";
      return;
    }
    const input = h("input", { type: "password", id: "secret", placeholder: "Gateway token or password", autocomplete: "off" });
    replace(
      overlay,
      h(
        "form",
        { class: "card center", id: "login", onsubmit: (ev: Event) => {
          ev.preventDefault();
          submitSecret(input.value.trim());
        } },
        h("h2", null, "Sign in to the gateway"),
        h("p", { class: "error", id: "login-error" }, s.error?.message ?? "Authentication required"),
        s.error?.detailCode ? h("p", null, h("code", null, s.error.detailCode)) : null,
        h("label", null, "Gateway secret", input),
        h("p", { class: "muted" }, "On the gateway host, `openclaw dashboard` prints a link with the token, or run `openclaw gateway auth-token --show`."),
        h("button", { class: "primary", type: "submit" }, "Connect"),
      ),
    );
    overlay.className = "overlay";
  } else if (s.phase === "pairing-required") {
    const details = s.error?.details ?? {};
    const requestId = typeof details.requestId === "string" ? details.requestId : undefined;
    const command = requestId ? `openclaw devices approve ${requestId}` : "openclaw devices approve --latest";
    replace(
      overlay,
      h(
        "div",
        { class: "card center", id: "pairing" },
        h("h2", null, "This browser needs approval"),
        h("p", null, s.error?.message ?? "pairing required"),
        requestId ? h("p", null, "Request id: ", h("code", { id: "pairing-request-id" }, requestId)) : null,
        h("p", null, "On the gateway host run:"),
        h("code", { class: "block", id: "pairing-command" }, command),
        h("p", { class: "muted" }, s.autoRetry ? "This page keeps checking and connects once the request is approved." : "Then press Check now."),
        h("button", { class: "primary", id: "pairing-check", onclick: () => client.retryNow() }, "Check now"),
      ),
    );
    overlay.className = "overlay";
  } else {
    overlay.className = "overlay hidden";
    overlay.replaceChildren();
  }
}

function setBanner(banner: HTMLElement, kind: string, text: string, client: GatewayClient): void {
  replace(banner, h("span", null, text), h("button", { class: "link", onclick: () => client.retryNow() }, "Retry now"));
  banner.className = `banner ${kind}`;
}

start();
