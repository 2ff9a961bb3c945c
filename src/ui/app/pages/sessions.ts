/**
 * Sessions: `sessions.list` newest first (key, agent, messages, tokens, model, last update);
 * a row opens the session in Chat. A `sessions.changed` event (after `sessions.subscribe`)
 * refreshes the list.
 */
import { errorBox, fmtAge, h, replace } from "../dom.ts";
import type { PageContext, PageInstance } from "../main.ts";

export function sessionsPage(ctx: PageContext): PageInstance {
  const { client } = ctx;
  const body = h("div", { id: "sessions-body" }, h("p", { class: "muted" }, "Loading…"));
  const count = h("span", { class: "muted", id: "sessions-count" });
  const el = h(
    "section",
    { class: "page" },
    h("div", { class: "toolbar" }, h("h2", null, "Sessions"), count, h("span", { class: "spacer" }), h("button", { onclick: () => void load() }, "Refresh")),
    body,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function load(): Promise<void> {
    if (!client.connected) return;
    try {
      const res = await client.request<any>("sessions.list", { limit: 200 });
      const rows: any[] = Array.isArray(res?.sessions) ? res.sessions : [];
      const total = typeof res?.totalCount === "number" ? res.totalCount : res?.count;
      count.textContent = typeof total === "number" ? `${total} total` : "";
      if (!rows.length) {
        replace(body, h("p", { class: "muted" }, "No sessions yet. Start one from Chat."));
        return;
      }
      replace(
        body,
        h(
          "table",
          { class: "grid", id: "sessions-table" },
          h("thead", null, h("tr", null, ["Session", "Agent", "Messages", "Tokens", "Model", "Updated"].map((t) => h("th", null, t)))),
          h(
            "tbody",
            null,
            rows.map((r) =>
              h(
                "tr",
                { class: "clickable", "data-key": String(r.key), onclick: () => ctx.navigate(`/chat?session=${encodeURIComponent(String(r.key))}`) },
                h("td", null, h("code", null, String(r.key))),
                h("td", null, String(r.agentId ?? "—")),
                h("td", { class: "num" }, String(r.messageCount ?? "—")),
                h("td", { class: "num" }, String(r.totalTokens ?? "—")),
                h("td", null, r.model ? (r.modelProvider ? `${r.modelProvider}/${r.model}` : String(r.model)) : "—"),
                h("td", null, fmtAge(r.updatedAt)),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      replace(body, errorBox(err));
    }
  }

  const off = client.onEvent((event) => {
    if (event !== "sessions.changed" && event !== "chat") return;
    clearTimeout(timer);
    timer = setTimeout(() => void load(), 500);
  });
  // `sessions.changed` reaches only sockets that subscribed (gateways without the method still
  // send `chat`, which refreshes the list too).
  const connected = () => {
    client.request("sessions.subscribe", {}).catch(() => {});
    void load();
  };
  return { el, connected, dispose: () => { off(); clearTimeout(timer); } };
}
