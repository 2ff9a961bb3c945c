/**
 * Config: the config file as `config.get` returns it (secrets already redacted by the gateway),
 * editable as JSON. Apply sends the difference as a JSON merge patch through `config.patch`
 * with the `baseHash` it was loaded at, so a concurrent edit is refused rather than
 * overwritten; the gateway's validation errors are shown as it reports them. Redacted values
 * left untouched are not in the patch, so they stay as they are.
 */
import { errorBox, h, replace } from "../dom.ts";
import type { PageContext, PageInstance } from "../main.ts";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** RFC 7386 merge patch turning `from` into `to` (undefined when they are equal). */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (isObject(from) && isObject(to)) {
    const patch: Record<string, unknown> = {};
    for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
    for (const [key, value] of Object.entries(to)) {
      if (!(key in from)) patch[key] = value;
      else {
        const sub = mergePatch(from[key], value);
        if (sub !== undefined) patch[key] = sub;
      }
    }
    return Object.keys(patch).length ? patch : undefined;
  }
  return same(from, to) ? undefined : to;
}

export function configPage(ctx: PageContext): PageInstance {
  const { client } = ctx;
  let loaded: { parsed: unknown; hash: string | null } | undefined;
  const info = h("div", { id: "config-info" });
  const issuesEl = h("div", { id: "config-issues" });
  const editor = h("textarea", { id: "config-editor", spellcheck: "false", rows: 24 });
  const result = h("div", { id: "config-result", role: "status" });
  const applyBtn = h("button", { class: "primary", id: "config-apply", onclick: () => void apply() }, "Apply");
  const el = h(
    "section",
    { class: "page config" },
    h("div", { class: "toolbar" }, h("h2", null, "Config"), h("span", { class: "spacer" }), h("button", { id: "config-reload", onclick: () => void load() }, "Reload"), applyBtn),
    info,
    issuesEl,
    result,
    editor,
  );

  async function load(): Promise<void> {
    if (!client.connected) return;
    try {
      const res = await client.request<any>("config.get", {});
      loaded = { parsed: res?.parsed ?? {}, hash: typeof res?.hash === "string" ? res.hash : null };
      editor.value = `${JSON.stringify(loaded.parsed, null, 2)}\n`;
      replace(
        info,
        h("p", { class: "muted" }, h("code", { id: "config-path" }, String(res?.path ?? "")), " · ", res?.valid ? "valid" : "has problems", " · ", h("code", { id: "config-hash" }, String(res?.hash ?? "no file"))),
      );
      const issues: any[] = Array.isArray(res?.issues) ? res.issues : [];
      replace(issuesEl, issues.length ? h("ul", { class: "issues" }, issues.map((i) => h("li", null, h("code", null, String(i.path ?? "")), " ", String(i.message ?? "")))) : "");
    } catch (err) {
      replace(info, errorBox(err));
    }
  }

  async function apply(): Promise<void> {
    if (!loaded) return;
    replace(result);
    let next: unknown;
    try {
      next = JSON.parse(editor.value);
    } catch (err) {
      replace(result, h("div", { class: "error", role: "alert" }, `Not valid JSON: ${(err as Error).message}`));
      return;
    }
    if (!isObject(next)) {
      replace(result, h("div", { class: "error", role: "alert" }, "The config must be a JSON object."));
      return;
    }
    const patch = mergePatch(loaded.parsed, next);
    if (patch === undefined) {
      replace(result, h("p", { class: "muted" }, "No changes."));
      return;
    }
    applyBtn.disabled = true;
    try {
      const res = await client.request<any>("config.patch", { raw: JSON.stringify(patch), ...(loaded.hash ? { baseHash: loaded.hash } : {}), note: "dashboard" });
      const changed: string[] = Array.isArray(res?.changed) ? res.changed : [];
      replace(result, h("p", { class: "ok", id: "config-saved" }, `Saved (${changed.length} key${changed.length === 1 ? "" : "s"} changed${res?.reload?.status ? `; reload: ${res.reload.status}` : ""}).`));
      await load();
    } catch (err) {
      const issues: any[] = Array.isArray((err as any)?.details?.issues) ? (err as any).details.issues : [];
      replace(
        result,
        errorBox(err),
        issues.length ? h("ul", { class: "issues", id: "config-errors" }, issues.map((i) => h("li", null, h("code", null, String(i.path ?? "")), " ", String(i.message ?? "")))) : "",
      );
    } finally {
      applyBtn.disabled = false;
    }
  }

  return { el, connected: () => void load() };
}
