/**
 * Devices: pending pairing requests (approve / reject by request id) and paired devices with
 * their role tokens (revoke), from `device.pair.list`. `device.pair.requested` /
 * `device.pair.resolved` events refresh it. A gateway without these methods shows its answer.
 */
import { errorBox, fmtAge, h, replace } from "../dom.ts";
import type { PageContext, PageInstance } from "../main.ts";

function roleTokens(device: any): Array<{ role: string; revoked: boolean }> {
  const tokens = device?.tokens;
  if (Array.isArray(tokens)) return tokens.map((t: any) => ({ role: String(t.role ?? "operator"), revoked: Boolean(t.revokedAtMs) }));
  if (tokens && typeof tokens === "object") return Object.entries(tokens).map(([role, t]: [string, any]) => ({ role, revoked: Boolean(t?.revokedAtMs) }));
  const roles = Array.isArray(device?.roles) ? device.roles : device?.role ? [device.role] : [];
  return roles.map((r: unknown) => ({ role: String(r), revoked: false }));
}

export function devicesPage(ctx: PageContext): PageInstance {
  const { client } = ctx;
  const pendingEl = h("div", { id: "pending" }, h("p", { class: "muted" }, "Loading…"));
  const pairedEl = h("div", { id: "paired" });
  const message = h("div", { id: "devices-message" });
  const el = h(
    "section",
    { class: "page" },
    h("div", { class: "toolbar" }, h("h2", null, "Devices"), h("span", { class: "spacer" }), h("button", { onclick: () => void load() }, "Refresh")),
    message,
    h("h3", null, "Pending requests"),
    pendingEl,
    h("h3", null, "Paired devices"),
    pairedEl,
  );

  async function act(method: string, params: Record<string, unknown>, done: string): Promise<void> {
    replace(message);
    try {
      await client.request(method, params);
      replace(message, h("p", { class: "ok" }, done));
    } catch (err) {
      replace(message, errorBox(err));
    }
    await load();
  }

  async function load(): Promise<void> {
    if (!client.connected) return;
    let res: any;
    try {
      res = await client.request<any>("device.pair.list", {});
    } catch (err) {
      replace(pendingEl, errorBox(err));
      replace(pairedEl);
      return;
    }
    const pending: any[] = Array.isArray(res?.pending) ? res.pending : [];
    const paired: any[] = Array.isArray(res?.paired) ? res.paired : [];
    replace(
      pendingEl,
      pending.length
        ? h(
            "table",
            { class: "grid", id: "pending-table" },
            h("thead", null, h("tr", null, ["Request", "Device", "Client", "Role / scopes", "From", "Asked", ""].map((t) => h("th", null, t)))),
            h(
              "tbody",
              null,
              pending.map((p) =>
                h(
                  "tr",
                  { "data-request": String(p.requestId) },
                  h("td", null, h("code", null, String(p.requestId))),
                  h("td", null, String(p.displayName ?? p.deviceId ?? "—").slice(0, 40)),
                  h("td", null, [p.clientId, p.platform].filter(Boolean).join(" · ") || "—"),
                  h("td", null, `${p.role ?? (p.roles ?? []).join(",") ?? ""} ${(p.scopes ?? []).join(" ")}`.trim() || "—"),
                  h("td", null, String(p.remoteIp ?? "—")),
                  h("td", null, fmtAge(p.ts)),
                  h(
                    "td",
                    { class: "actions" },
                    h("button", { class: "primary approve", onclick: () => void act("device.pair.approve", { requestId: p.requestId }, `Approved ${p.requestId}.`) }, "Approve"),
                    h("button", { class: "danger reject", onclick: () => void act("device.pair.reject", { requestId: p.requestId }, `Rejected ${p.requestId}.`) }, "Reject"),
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, "No pending requests."),
    );
    replace(
      pairedEl,
      paired.length
        ? h(
            "table",
            { class: "grid", id: "paired-table" },
            h("thead", null, h("tr", null, ["Device", "Name", "Client", "Scopes", "Tokens"].map((t) => h("th", null, t)))),
            h(
              "tbody",
              null,
              paired.map((d) =>
                h(
                  "tr",
                  { "data-device": String(d.deviceId) },
                  h("td", null, h("code", null, String(d.deviceId ?? "").slice(0, 16)), d.deviceId === client.deviceId ? h("span", { class: "tag" }, "this browser") : null),
                  h("td", null, String(d.operatorLabel ?? d.displayName ?? "—")),
                  h("td", null, [d.clientId, d.platform].filter(Boolean).join(" · ") || "—"),
                  h("td", null, (d.scopes ?? []).join(" ") || "—"),
                  h(
                    "td",
                    { class: "actions" },
                    roleTokens(d).map((t) =>
                      t.revoked
                        ? h("span", { class: "tag" }, `${t.role} revoked`)
                        : h("button", { class: "danger revoke", onclick: () => void act("device.token.revoke", { deviceId: d.deviceId, role: t.role }, `Revoked the ${t.role} token of ${String(d.deviceId).slice(0, 12)}.`) }, `Revoke ${t.role}`),
                    ),
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, "No paired devices."),
    );
  }

  const off = client.onEvent((event) => {
    if (event === "device.pair.requested" || event === "device.pair.resolved" || event === "device.pair.changed") void load();
  });
  return { el, connected: () => void load(), dispose: off };
}
