/**
 * Logs: a live tail of the gateway's file log. Like the official UI it polls `logs.tail` every
 * 2 s while the tab is visible (`limit:500, maxBytes:250000`, then the returned `cursor`),
 * starts over when the gateway reports `reset` or another file, and keeps the last 2000 lines.
 */
import { errorBox, h, replace } from "../dom.ts";
import type { PageContext, PageInstance } from "../main.ts";

const POLL_MS = 2000;
const KEEP = 2000;

interface Entry {
  time: string;
  level: string;
  subsystem: string;
  message: string;
  raw: string;
}

function parse(line: string): Entry {
  try {
    const o = JSON.parse(line);
    if (o && typeof o === "object") {
      return {
        time: String(o.time ?? o.ts ?? ""),
        level: String(o.level ?? o.type ?? ""),
        subsystem: String(o.subsystem ?? o.tag ?? ""),
        message: typeof o.message === "string" ? o.message : typeof o.msg === "string" ? o.msg : line,
        raw: line,
      };
    }
  } catch {
    // not JSON: shown as is
  }
  return { time: "", level: "", subsystem: "", message: line, raw: line };
}

export function logsPage(ctx: PageContext): PageInstance {
  const { client } = ctx;
  let cursor: number | undefined;
  let file: string | undefined;
  let entries: Entry[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  let follow = true;

  const filter = h("input", { type: "search", id: "logs-filter", placeholder: "Filter" });
  const followBox = h("input", { type: "checkbox", id: "logs-follow", checked: true });
  const meta = h("span", { class: "muted", id: "logs-file" });
  const notice = h("div", { id: "logs-notice" });
  const list = h("div", { class: "log-stream", id: "log-stream" });
  const el = h(
    "section",
    { class: "page logs" },
    h("div", { class: "toolbar" }, h("h2", null, "Logs"), meta, h("span", { class: "spacer" }), filter, h("label", null, followBox, " Follow")),
    notice,
    list,
  );
  filter.addEventListener("input", () => render());
  followBox.addEventListener("change", () => {
    follow = followBox.checked;
  });

  function render(): void {
    const q = filter.value.trim().toLowerCase();
    const shown = q ? entries.filter((e) => e.raw.toLowerCase().includes(q)) : entries;
    replace(
      list,
      shown.map((e) =>
        h("div", { class: `log-line ${e.level}` }, h("span", { class: "t" }, e.time.replace("T", " ").replace(/\.\d+Z$/, "Z")), h("span", { class: "lvl" }, e.level), e.subsystem ? h("span", { class: "sub" }, `[${e.subsystem}]`) : null, h("span", { class: "m" }, e.message)),
      ),
    );
    if (follow) list.scrollTop = list.scrollHeight;
  }

  async function poll(): Promise<void> {
    clearTimeout(timer);
    if (disposed || !client.connected) return;
    if (document.visibilityState !== "hidden") {
      try {
        const ask = (c: number | undefined) => client.request<any>("logs.tail", { ...(c === undefined ? {} : { cursor: c }), limit: 500, maxBytes: 250_000 });
        let res = await ask(cursor);
        let reset = cursor === undefined || res?.reset === true;
        if (cursor !== undefined && file !== undefined && typeof res?.file === "string" && res.file !== file) {
          res = await ask(undefined);
          reset = true;
        }
        const lines: Entry[] = (Array.isArray(res?.lines) ? res.lines : []).filter((l: unknown) => typeof l === "string").map(parse);
        entries = reset ? lines.slice(-KEEP) : [...entries, ...lines].slice(-KEEP);
        if (typeof res?.cursor === "number") cursor = res.cursor;
        if (typeof res?.file === "string") file = res.file;
        meta.textContent = file ?? "";
        replace(notice, res?.truncated ? h("p", { class: "warn" }, "Output truncated: older lines were skipped.") : "");
        if (lines.length || reset) render();
      } catch (err) {
        replace(notice, errorBox(err));
      }
    }
    if (!disposed) timer = setTimeout(() => void poll(), POLL_MS);
  }

  return {
    el,
    connected: () => {
      cursor = undefined;
      void poll();
    },
    dispose: () => {
      disposed = true;
      clearTimeout(timer);
    },
  };
}
