/**
 * Status: version and build, uptime and memory (`status`), health (`health`, refreshed by
 * `health` events), presence (`system-presence`, refreshed by `presence` events) and channels
 * (`channels.status`).
 */
import { signer } from "../crypto/identity.ts";
import { errorBox, fmtAge, fmtBytes, h, replace } from "../dom.ts";
import type { PageContext, PageInstance } from "../main.ts";

function kv(rows: Array<[string, Node | string]>, id?: string): HTMLElement {
  return h("dl", { class: "kv", ...(id ? { id } : {}) }, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

function duration(ms: unknown): string {
  if (typeof ms !== "number") return "—";
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const hh = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${hh}h` : hh ? `${hh}h ${m}m` : `${m}m ${s % 60}s`;
}

export function statusPage(ctx: PageContext): PageInstance {
  const { client } = ctx;
  const gatewayEl = h("div", { id: "status-gateway" });
  const healthEl = h("div", { id: "status-health" });
  const presenceEl = h("div", { id: "status-presence" });
  const channelsEl = h("div", { id: "status-channels" });
  const el = h(
    "section",
    { class: "page status" },
    h("div", { class: "toolbar" }, h("h2", null, "Status"), h("span", { class: "spacer" }), h("button", { onclick: () => void load() }, "Refresh")),
    h("div", { class: "cards" }, h("div", { class: "card" }, h("h3", null, "Gateway"), gatewayEl), h("div", { class: "card" }, h("h3", null, "Health"), healthEl)),
    h("div", { class: "card" }, h("h3", null, "Presence"), presenceEl),
    h("div", { class: "card" }, h("h3", null, "Channels"), channelsEl),
  );

  function showGateway(status: any): void {
    const server = client.state.hello?.server ?? {};
    replace(
      gatewayEl,
      kv(
        [
          ["Version", h("span", { id: "server-version" }, String(server.version ?? "—"))],
          ["Build", String(server.buildId ?? "—")],
          ["Gateway URL", client.url],
          ["Uptime", duration(status?.uptimeMs ?? client.state.hello?.snapshot?.uptimeMs)],
          ["Memory (RSS)", fmtBytes(status?.processMemory?.rssBytes)],
          ["PID", String(status?.pid ?? "—")],
          ["This browser", `${(client.deviceId ?? "").slice(0, 16)}… (signing: ${signer})`],
          ["Connection", String(server.connId ?? "—")],
        ],
        "gateway-kv",
      ),
    );
  }

  function showHealth(health: any): void {
    if (!health) return;
    const agents: any[] = Array.isArray(health.agents) ? health.agents : [];
    replace(
      healthEl,
      kv([
        ["Overall", h("span", { id: "health-ok", class: health.ok ? "ok" : "bad" }, health.ok ? "ok" : "degraded")],
        ["Default agent", String(health.defaultAgentId ?? "—")],
        ["Agents", agents.map((a) => `${a.agentId} (${a.sessions?.count ?? 0} sessions)`).join(", ") || "—"],
        ["Sessions", String(health.sessions?.count ?? "—")],
        ["Config reload", String(health.configReload?.hotReloadStatus ?? "—")],
        ["Checked", fmtAge(health.ts)],
      ]),
    );
  }

  function showPresence(list: any): void {
    const rows: any[] = Array.isArray(list) ? list : [];
    replace(
      presenceEl,
      rows.length
        ? h(
            "table",
            { class: "grid" },
            h("thead", null, h("tr", null, ["Host", "Client", "Mode", "Version", "IP", "Seen"].map((t) => h("th", null, t)))),
            h("tbody", null, rows.map((p) => h("tr", null, h("td", null, String(p.host ?? "—")), h("td", null, String(p.clientId ?? "—")), h("td", null, String(p.mode ?? "—")), h("td", null, String(p.version ?? "—")), h("td", null, String(p.ip ?? "—")), h("td", null, fmtAge(p.ts))))),
          )
        : h("p", { class: "muted" }, "Nobody else is connected."),
    );
  }

  function showChannels(res: any): void {
    const order: string[] = Array.isArray(res?.channelOrder) ? res.channelOrder : Object.keys(res?.channels ?? {});
    replace(
      channelsEl,
      order.length
        ? kv(order.map((id) => [String(res?.channelLabels?.[id] ?? id), JSON.stringify(res?.channels?.[id] ?? {})]))
        : h("p", { class: "muted", id: "channels-none" }, "No chat channels configured."),
    );
  }

  async function load(): Promise<void> {
    if (!client.connected) return;
    showGateway(undefined);
    showHealth(client.state.hello?.snapshot?.health);
    showPresence(client.state.hello?.snapshot?.presence);
    const call = async (method: string, params: unknown, show: (v: any) => void, target: HTMLElement) => {
      try {
        show(await client.request(method, params));
      } catch (err) {
        replace(target, errorBox(err));
      }
    };
    await Promise.all([
      call("status", {}, showGateway, gatewayEl),
      call("health", {}, showHealth, healthEl),
      call("system-presence", {}, showPresence, presenceEl),
      call("channels.status", {}, showChannels, channelsEl),
    ]);
  }

  const off = client.onEvent((event, payload) => {
    if (event === "health") showHealth(payload);
    else if (event === "presence") showPresence(Array.isArray(payload) ? payload : payload?.presence);
  });
  return { el, connected: () => void load(), dispose: off };
}
