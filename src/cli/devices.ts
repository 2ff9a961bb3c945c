/**
 * `openclaw devices list|approve|reject|remove|rename|rotate|revoke|clear`: device pairing and
 * device tokens on a gateway (the RPCs and connect scopes are in src/operator/devices.ts).
 * Human output uses the official CLI's words where people and scripts match on them
 * (`Approved <deviceId> (<requestId>)`, `No pending device request matches …`, …); `--json`
 * prints the RPC result as is. `openclaw pairing` is the channels' DM pairing, not this.
 */
import { defineCommand } from "citty";
import {
  approvalState,
  approveDevice,
  clearDevices,
  latestRequest,
  listDevices,
  pairedFor,
  rejectDevice,
  removeDevice,
  renameDevice,
  revokeDeviceToken,
  rotateDeviceToken,
  type ApprovalState,
  type DevicePairingList,
  type PendingDeviceRequest,
} from "../operator/devices.ts";
import type { GatewayTarget } from "../operator/target.ts";
import { connectionArgs, targetOf, timeoutArg } from "./call.ts";
import { CliError, writeStderr } from "./command.ts";
import { exitWithFailure, printJson } from "./output.ts";

const DEFAULT_TIMEOUT_MS = 10_000;

type ConnArgs = { url?: unknown; token?: unknown; password?: unknown; port?: unknown; timeout?: unknown; json?: unknown };

/** Resolve the target and run `fn`; any failure is printed as the other operator commands print it. */
async function run(args: ConnArgs, what: string, fn: (target: GatewayTarget, timeoutMs: number, json: boolean) => Promise<void>): Promise<void> {
  const json = Boolean(args.json);
  let target: GatewayTarget | undefined;
  try {
    const timeoutMs = timeoutArg(args.timeout, DEFAULT_TIMEOUT_MS);
    target = (await targetOf(args)).target;
    await fn(target, timeoutMs, json);
  } catch (err) {
    await exitWithFailure(err, { json, target, what });
  }
}

/** Print to stderr and exit 1 (a refusal of the CLI itself, not of the gateway). */
function refuse(lines: string[]): never {
  writeStderr(lines);
  process.exit(1);
}

/** Control characters and escapes out of what a remote client chose to call itself. */
function clean(text: string | undefined): string {
  return (text ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim();
}

function timeAgo(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "unknown";
  const minutes = Math.round(Math.round(ms / 1000) / 60);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours}h ago` : `${Math.round(hours / 24)}d ago`;
}

/** A box table sized to its content. */
export function boxTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const rule = (l: string, m: string, r: string) => `${l}${widths.map((w) => "─".repeat(w + 2)).join(m)}${r}`;
  const line = (cells: string[]) => `│ ${cells.map((c, i) => (c ?? "").padEnd(widths[i])).join(" │ ")} │`;
  return [rule("┌", "┬", "┐"), line(headers), rule("├", "┼", "┤"), ...rows.map(line), rule("└", "┴", "┘")].join("\n");
}

const accessSummary = (a: ApprovalState["approved"]) =>
  a ? `roles: ${a.roles.length ? a.roles.join(", ") : "none"}; scopes: ${a.scopes.length ? a.scopes.join(", ") : "none"}` : "none";

const KIND_LABEL: Record<ApprovalState["kind"], string> = {
  "new-pairing": "new pairing",
  "role-upgrade": "role upgrade",
  "scope-upgrade": "scope upgrade",
  "re-approval": "re-approval",
};

const deviceLabel = (r: PendingDeviceRequest) => clean(r.displayName) || clean(r.deviceId);

/** The human `devices list`. */
export function renderDeviceList(list: DevicePairingList, now = Date.now()): string[] {
  const out: string[] = [];
  if (list.pending.length > 0) {
    out.push(`Pending (${list.pending.length})`);
    out.push(
      boxTable(
        ["Request", "Device", "Requested", "Approved", "Age", "Status"],
        list.pending.map((r) => {
          const state = approvalState(r, pairedFor(list, r));
          return [
            r.requestId,
            `${deviceLabel(r)}${r.remoteIp ? ` · ${clean(r.remoteIp)}` : ""}`,
            accessSummary(state.requested),
            accessSummary(state.approved),
            typeof r.ts === "number" ? timeAgo(now - r.ts) : "",
            [KIND_LABEL[state.kind], ...(r.isRepair ? ["repair"] : [])].join(", "),
          ];
        }),
      ),
    );
  }
  if (list.paired.length > 0) {
    const rows = list.paired.map((d) => [
      clean(d.operatorLabel || d.displayName || d.clientId || d.deviceId),
      d.deviceId,
      (d.roles ?? []).join(", "),
      (d.scopes ?? []).join(", "),
      d.tokens?.length ? d.tokens.map((t) => `${t.role}${t.revokedAtMs ? " (revoked)" : ""}`).sort((a, b) => a.localeCompare(b)).join(", ") : "none",
      clean(d.remoteIp),
    ]);
    out.push(`Paired (${list.paired.length})`);
    out.push(boxTable(["Device", "Device ID", "Roles", "Scopes", "Tokens", "IP"], rows));
    out.push("Full device IDs");
    for (const r of rows) out.push(`  ${r[1]}  ${r[0]}`);
  }
  if (out.length === 0) out.push("No device pairing entries.");
  return out;
}

/** `openclaw devices approve <id>` as the command to rerun (with the flags that select the gateway). */
function approveCommand(requestId: string, args: ConnArgs): string {
  const parts = ["openclaw", "devices", "approve", requestId];
  if (typeof args.url === "string" && args.url.trim()) parts.push("--url", args.url.trim());
  if (typeof args.timeout === "string" && args.timeout.trim() && args.timeout.trim() !== "10000") parts.push("--timeout", args.timeout.trim());
  return parts.map((p) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`)).join(" ");
}

function authReminder(args: ConnArgs): string | undefined {
  const flags = [typeof args.token === "string" && args.token ? "--token" : "", typeof args.password === "string" && args.password ? "--password" : ""].filter(Boolean);
  return flags.length ? `Reuse the same ${flags.join("/")} option${flags.length === 1 ? "" : "s"} when rerunning.` : undefined;
}

function requiredString(v: unknown): string {
  return typeof v === "string" ? v.trim() : "";
}

const listCommand = defineCommand({
  meta: { name: "list", description: "List pending and paired devices" },
  args: connectionArgs,
  run: ({ args }) =>
    run(args, "Devices device.pair.list", async (target, timeoutMs, json) => {
      const list = await listDevices(target, { timeoutMs });
      if (json) printJson(list);
      else console.log(renderDeviceList(list).join("\n"));
    }),
});

const approveCommandDef = defineCommand({
  meta: { name: "approve", description: "Approve a pending device pairing request (without an id: show the newest to approve explicitly)" },
  args: {
    requestId: { type: "positional", description: "Pending request id", required: false },
    latest: { type: "boolean", description: "Show the most recent pending request to approve explicitly" },
    ...connectionArgs,
  },
  run: ({ args }) =>
    run(args, "Devices device.pair.approve", async (target, timeoutMs, json) => {
      const requestId = requiredString(args.requestId);
      if (!requestId || args.latest) {
        const latest = await latestRequest(target, { timeoutMs });
        if (!latest) refuse(["No pending device pairing requests to approve"]);
        const { request, state } = latest;
        const command = approveCommand(request.requestId, args);
        if (json) {
          printJson({
            selected: request,
            approvalState: state,
            approveCommand: command,
            requiresAuthFlags: { token: Boolean(requiredString(args.token)), password: Boolean(requiredString(args.password)) },
          });
          process.exit(1);
        }
        const notes: Record<ApprovalState["kind"], string> = {
          "scope-upgrade": "Already paired. Requested scopes exceed the current approval, so reconnect stays blocked until you approve this upgrade.",
          "role-upgrade": "Already paired. Requested role exceeds the current approval, so reconnect stays blocked until you approve this upgrade.",
          "re-approval": "Already paired. Approval-bound device details changed, so a fresh request was created instead of silently reusing the old approval.",
          "new-pairing": "First-time device pairing request.",
        };
        console.log(
          [
            `Selected pending device request ${request.requestId}`,
            `  Device: ${deviceLabel(request)}`,
            `  Requested: ${accessSummary(state.requested)}`,
            ...(state.approved ? [`  Approved: ${accessSummary(state.approved)}`] : []),
            ...(request.remoteIp ? [`  IP:     ${clean(request.remoteIp)}`] : []),
            `  Note:   ${notes[state.kind]}`,
          ].join("\n"),
        );
        const reminder = authReminder(args);
        refuse([`Approve this exact request with: ${command}`, ...(reminder ? [reminder] : [])]);
      }
      const result = await approveDevice(target, requestId, { timeoutMs });
      if (!result) refuse([`No pending device request matches ${clean(requestId)}. Run openclaw devices list and retry with the current request ID.`]);
      if (json) printJson(result);
      else console.log(`Approved ${result.device.deviceId} (${result.requestId || requestId})`);
    }),
});

const rejectCommand = defineCommand({
  meta: { name: "reject", description: "Reject a pending device pairing request" },
  args: { requestId: { type: "positional", description: "Pending request id", required: true }, ...connectionArgs },
  run: ({ args }) =>
    run(args, "Devices device.pair.reject", async (target, timeoutMs, json) => {
      const requestId = requiredString(args.requestId);
      if (!requestId) refuse(["requestId is required. Run openclaw devices list to choose a pending request."]);
      const result = await rejectDevice(target, requestId, { timeoutMs });
      if (json) printJson(result);
      else console.log(`Rejected ${result.deviceId}`);
    }),
});

const removeCommand = defineCommand({
  meta: { name: "remove", description: "Remove a paired device entry" },
  args: { deviceId: { type: "positional", description: "Paired device id", required: true }, ...connectionArgs },
  run: ({ args }) =>
    run(args, "Devices device.pair.remove", async (target, timeoutMs, json) => {
      const deviceId = requiredString(args.deviceId);
      if (!deviceId) refuse(["deviceId is required. Run openclaw devices list to choose a paired device."]);
      const result = await removeDevice(target, deviceId, { timeoutMs });
      if (json) printJson(result);
      else console.log(`Removed ${deviceId}`);
    }),
});

const renameCommand = defineCommand({
  meta: { name: "rename", description: "Assign an operator label to a paired device" },
  args: {
    device: { type: "string", description: "Device id" },
    name: { type: "string", description: "Operator-assigned label (max 64 characters)" },
    ...connectionArgs,
  },
  run: ({ args }) =>
    run(args, "Devices device.pair.rename", async (target, timeoutMs, json) => {
      const deviceId = requiredString(args.device);
      const label = requiredString(args.name);
      if (!deviceId || !label) refuse(["--device and --name are required. Run openclaw devices list to choose a paired device."]);
      const result = await renameDevice(target, deviceId, label, { timeoutMs });
      if (json) printJson(result);
      else console.log(`Renamed ${deviceId} → ${clean(result.label)}`);
    }),
});

function deviceAndRole(args: { device?: unknown; role?: unknown }): { deviceId: string; role: string } {
  const deviceId = requiredString(args.device);
  const role = requiredString(args.role);
  if (!deviceId || !role) refuse(["--device and --role are required. Run openclaw devices list to choose a paired device."]);
  return { deviceId, role };
}

const rotateCommand = defineCommand({
  meta: { name: "rotate", description: "Rotate a device token for a role (prints JSON)" },
  args: {
    device: { type: "string", description: "Device id" },
    role: { type: "string", description: "Role name" },
    scope: { type: "string", description: "Scope to attach to the token (repeatable)" },
    scopes: { type: "boolean", description: "--no-scopes: rotate with an empty scope set", default: true },
    ...connectionArgs,
  },
  run: ({ args }) =>
    run(args, "Devices device.token.rotate", async (target, timeoutMs) => {
      const { deviceId, role } = deviceAndRole(args);
      const raw = (args as { scope?: unknown }).scope;
      const listed = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String).map((s) => s.trim()).filter(Boolean);
      if (args.scopes === false && listed.length > 0) throw new CliError(["--scope and --no-scopes cannot be used together."]);
      const scopes = args.scopes === false ? [] : listed.length > 0 ? listed : undefined;
      printJson(await rotateDeviceToken(target, { deviceId, role, ...(scopes ? { scopes } : {}) }, { timeoutMs }));
    }),
});

const revokeCommand = defineCommand({
  meta: { name: "revoke", description: "Revoke a device token for a role (prints JSON)" },
  args: { device: { type: "string", description: "Device id" }, role: { type: "string", description: "Role name" }, ...connectionArgs },
  run: ({ args }) =>
    run(args, "Devices device.token.revoke", async (target, timeoutMs) => {
      printJson(await revokeDeviceToken(target, deviceAndRole(args), { timeoutMs }));
    }),
});

const clearCommand = defineCommand({
  meta: { name: "clear", description: "Clear paired devices from the gateway table" },
  args: {
    pending: { type: "boolean", description: "Also reject all pending pairing requests" },
    yes: { type: "boolean", description: "Confirm destructive clear" },
    ...connectionArgs,
  },
  run: ({ args }) =>
    run(args, "Devices device.pair.remove", async (target, timeoutMs, json) => {
      if (!args.yes) refuse(["Refusing to clear pairing table without --yes"]);
      const pending = Boolean(args.pending);
      const result = await clearDevices(target, { timeoutMs, pending });
      if (json) printJson(result);
      else {
        const n = result.removedDevices.length;
        const m = result.rejectedPending.length;
        console.log(`Cleared ${n} paired device${n === 1 ? "" : "s"}`);
        if (pending) console.log(`Rejected ${m} pending request${m === 1 ? "" : "s"}`);
      }
    }),
});

export default defineCommand({
  meta: { name: "devices", description: "Device pairing and device tokens (remote operators, apps, browsers, nodes)" },
  subCommands: {
    list: listCommand,
    approve: approveCommandDef,
    reject: rejectCommand,
    remove: removeCommand,
    rename: renameCommand,
    rotate: rotateCommand,
    revoke: revokeCommand,
    clear: clearCommand,
  },
});
