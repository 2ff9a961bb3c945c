/**
 * Chat with an agent: the transcript from `chat.history`, a composer that sends `chat.send`
 * (`deliver:false`, a fresh idempotency key), the reply streamed from `chat` events (`delta`
 * carries `deltaText` and the cumulative `message`; `final`, `error`, `aborted` end the run),
 * Stop (`chat.abort {sessionKey, runId}`) and New session.
 */
import { errorBox, h, replace, uuid } from "../dom.ts";
import type { PageContext, PageInstance } from "../main.ts";

interface ChatMessage {
  role: string;
  text: string;
  runId?: string;
}

export function textOf(message: any): string {
  if (!message) return "";
  const content = message.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part: any) => {
        if (typeof part === "string") return part;
        if (part?.type === "text" && typeof part.text === "string") return part.text;
        if (part?.type === "toolCall") return `[tool call: ${part.name ?? "tool"}]`;
        return "";
      })
      .filter(Boolean)
      .join("\n");
  }
  return typeof message.text === "string" ? message.text : "";
}

function agentsOf(hello: any): string[] {
  const agents = hello?.snapshot?.health?.agents;
  if (Array.isArray(agents)) return agents.map((a: any) => String(a.agentId)).filter(Boolean);
  const def = hello?.snapshot?.sessionDefaults?.defaultAgentId;
  return def ? [String(def)] : [];
}

export function chatPage(ctx: PageContext): PageInstance {
  const { client } = ctx;
  let sessionKey = ctx.params.get("session") ?? "";
  let activeRun: { runId: string; bubble: HTMLElement; text: string } | undefined;

  const transcript = h("div", { class: "transcript", id: "transcript", "aria-live": "polite" });
  const status = h("div", { class: "chat-status", id: "chat-status" });
  const input = h("textarea", { id: "composer", rows: 3, placeholder: "Message the agent (Enter to send, Shift+Enter for a new line)" });
  const sendBtn = h("button", { class: "primary", id: "send", type: "submit" }, "Send");
  const stopBtn = h("button", { id: "stop", type: "button", class: "hidden", onclick: () => void abort() }, "Stop");
  const agentSelect = h("select", { id: "agent" });
  const keyLabel = h("code", { id: "session-key" });
  const newBtn = h("button", { id: "new-session", type: "button", onclick: () => newSession() }, "New session");

  const el = h(
    "section",
    { class: "page chat" },
    h("div", { class: "toolbar" }, h("label", null, "Agent ", agentSelect), h("span", null, "Session ", keyLabel), newBtn),
    transcript,
    status,
    h(
      "form",
      { class: "composer", onsubmit: (ev: Event) => {
        ev.preventDefault();
        void send();
      } },
      input,
      h("div", { class: "composer-actions" }, stopBtn, sendBtn),
    ),
  );
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      void send();
    }
  });
  agentSelect.addEventListener("change", () => {
    sessionKey = `agent:${agentSelect.value}:main`;
    void load();
  });

  const bubble = (m: ChatMessage) =>
    h("div", { class: `msg ${m.role}`, "data-role": m.role, ...(m.runId ? { "data-run": m.runId } : {}) }, h("div", { class: "who" }, m.role), h("div", { class: "text" }, m.text));

  const setRunning = (running: boolean) => {
    stopBtn.className = running ? "" : "hidden";
    sendBtn.disabled = running;
  };

  const scroll = () => {
    transcript.scrollTop = transcript.scrollHeight;
  };

  const setStatus = (...children: Array<Node | string>) => replace(status, ...children);

  function syncToolbar(): void {
    const agents = agentsOf(client.state.hello);
    const current = /^agent:([^:]+):/.exec(sessionKey)?.[1];
    replace(agentSelect, agents.map((a) => h("option", { value: a, selected: a === current }, a)));
    keyLabel.textContent = sessionKey;
  }

  async function load(): Promise<void> {
    if (!client.connected) return;
    if (!sessionKey) sessionKey = client.state.hello?.snapshot?.sessionDefaults?.mainSessionKey ?? "main";
    syncToolbar();
    setStatus();
    try {
      const res = await client.request<any>("chat.history", { sessionKey, limit: 200 });
      if (typeof res?.sessionKey === "string") sessionKey = res.sessionKey;
      keyLabel.textContent = sessionKey;
      const messages: ChatMessage[] = (Array.isArray(res?.messages) ? res.messages : [])
        .filter((m: any) => m?.role === "user" || m?.role === "assistant")
        .map((m: any) => ({ role: m.role, text: textOf(m), runId: m.runId }));
      replace(transcript, messages.length ? messages.map(bubble) : h("p", { class: "muted empty" }, "No messages yet."));
      if (activeRun) transcript.append(activeRun.bubble);
      scroll();
    } catch (err) {
      setStatus(errorBox(err));
    }
  }

  async function send(): Promise<void> {
    const message = input.value.trim();
    if (!message || activeRun || !client.connected) return;
    const idempotencyKey = uuid();
    transcript.querySelector(".empty")?.remove();
    transcript.append(bubble({ role: "user", text: message }));
    const reply = bubble({ role: "assistant", text: "" });
    reply.classList.add("streaming");
    transcript.append(reply);
    activeRun = { runId: idempotencyKey, bubble: reply, text: "" };
    input.value = "";
    setRunning(true);
    setStatus();
    scroll();
    try {
      const res = await client.request<any>("chat.send", { sessionKey, message, deliver: false, idempotencyKey });
      if (activeRun && typeof res?.runId === "string") {
        activeRun.runId = res.runId;
        reply.setAttribute("data-run", res.runId);
      }
    } catch (err) {
      reply.remove();
      activeRun = undefined;
      setRunning(false);
      setStatus(errorBox(err));
    }
  }

  async function abort(): Promise<void> {
    if (!activeRun) return;
    try {
      await client.request("chat.abort", { sessionKey, runId: activeRun.runId });
    } catch (err) {
      setStatus(errorBox(err));
    }
  }

  function newSession(): void {
    const agent = agentSelect.value || client.state.hello?.snapshot?.sessionDefaults?.defaultAgentId || "main";
    sessionKey = `agent:${agent}:dashboard-${uuid().slice(0, 8)}`;
    activeRun = undefined;
    setRunning(false);
    history.replaceState(null, "", `${ctx.basePath}/chat?session=${encodeURIComponent(sessionKey)}`);
    syncToolbar();
    replace(transcript, h("p", { class: "muted empty" }, "New session. Say hello."));
    setStatus();
    input.focus();
  }

  const offEvent = client.onEvent((event, payload) => {
    if (event !== "chat" || !payload || payload.sessionKey !== sessionKey) return;
    const run = activeRun && (payload.runId === activeRun.runId || !payload.runId) ? activeRun : undefined;
    let target = run?.bubble;
    if (!target) {
      // A run started elsewhere (another tab, a channel) on this session.
      target = transcript.querySelector<HTMLElement>(`[data-run="${CSS.escape(String(payload.runId))}"]`) ?? undefined;
      if (!target && payload.state === "delta") {
        target = bubble({ role: "assistant", text: "", runId: payload.runId });
        target.classList.add("streaming");
        transcript.append(target);
      }
      if (!target) return;
    }
    const textEl = target.querySelector(".text")!;
    if (payload.state === "delta") {
      const full = textOf(payload.message);
      textEl.textContent = full || (textEl.textContent ?? "") + (payload.deltaText ?? "");
      scroll();
    } else if (payload.state === "final") {
      const full = textOf(payload.message);
      if (full) textEl.textContent = full;
      target.classList.remove("streaming");
      if (run) {
        activeRun = undefined;
        setRunning(false);
      }
      scroll();
    } else if (payload.state === "error" || payload.state === "aborted") {
      target.classList.remove("streaming");
      target.classList.add(payload.state);
      const note = payload.state === "aborted" ? "Stopped." : `Run failed: ${payload.errorMessage ?? "error"}`;
      target.append(h("div", { class: "note" }, note));
      if (run) {
        activeRun = undefined;
        setRunning(false);
      }
    }
  });

  return {
    el,
    connected: () => void load(),
    dispose: () => offEvent(),
  };
}
