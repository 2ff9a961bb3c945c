/**
 * `config.get`: the config file as it is now (re-read), plus the effective config, redacted.
 * `config.set` / `config.apply` (whole document) and `config.patch` (merge patch; `null` deletes):
 * admin, base-hash checked against `config.get.hash`, 30 per 60 s per method per client,
 * validated and written by the one writer (src/config/write.ts), broadcast as `config.changed`.
 * `apply` and `patch` apply at once (hot, or an in-process restart after `restartDelayMs`);
 * `set` leaves it to the file watcher and `gateway.reload.mode`.
 */
import { composeEnv, ConfigError, readConfigFile } from "../../config/load.ts";
import { diffPaths, formatKeyPath, isPlainObject, mergePatch, parseKeyPath, type Segment } from "../../config/keypath.ts";
import { REDACTED, redactConfig, redactText, restoreRedacted } from "../../config/redact.ts";
import { snapshotHash } from "../../config/snapshot.ts";
import { ConfigWriteError, writeConfigDocument, type WriteResult } from "../../config/write.ts";
import type { ParamsOf, ResultOf } from "../../protocol/contract.ts";
import { ErrorCodes, Messages, RpcError } from "../../protocol/errors.ts";
import { defineMethod, type MethodCall } from "./types.ts";

export function configHash(raw: string | null | undefined, hexDigest?: string | null): string | null {
  if (raw == null) return null;
  return `sha256:${hexDigest ?? new Bun.CryptoHasher("sha256").update(raw).digest("hex")}`;
}

export const configGetMethod = defineMethod("config.get", {
  scope: "operator.read",
  handler: async (_params, { ctx }) => {
    // The file as it is now, read the way the gateway reads it; `config` is what runs.
    const applied = ctx.snapshot;
    const now = await ctx.readConfig();
    const issues = now.problem?.issues ?? [];
    const hash = snapshotHash(now);
    const secrets = new Set<string>();
    const parsedRedacted = now.doc === undefined ? undefined : redactConfig(now.doc, secrets);
    const effective = redactConfig(applied.config, secrets);
    const payload = {
      path: applied.paths.configPath,
      includedPaths: [],
      includeProvenance: [],
      exists: now.exists,
      valid: issues.length === 0,
      raw: now.raw === null ? null : redactText(now.raw, secrets),
      parsed: parsedRedacted ?? null,
      sourceConfig: parsedRedacted ?? {},
      resolved: parsedRedacted ?? {},
      config: effective as Record<string, unknown>,
      runtimeConfig: effective,
      issues,
      warnings: applied.warnings,
      legacyIssues: [],
      hash,
      configRevisionHash: hash,
      appliedConfigHash: snapshotHash(applied),
    };
    return payload;
  },
});

// --- config.set / config.patch / config.apply / secrets.reload --------------------------------

type WriteParams = ParamsOf<"config.set">;

type Doc = Record<string, unknown>;

function withoutMeta(doc: unknown): unknown {
  if (!isPlainObject(doc)) return doc;
  const { meta: _meta, ...rest } = doc;
  return rest;
}

function invalid(message: string, details?: unknown): RpcError {
  return new RpcError(ErrorCodes.INVALID_REQUEST, message, details);
}

/** 30 per 60 s per method per client address; `UNAVAILABLE "rate limit exceeded for <m>; retry after <n>s"`. */
export function enforceWriteLimit(method: string, call: MethodCall): void {
  const wait = call.ctx.writeLimiter.hit(method, call.client.ip);
  if (wait > 0) {
    throw new RpcError(
      ErrorCodes.UNAVAILABLE,
      `rate limit exceeded for ${method}; retry after ${Math.ceil(wait / 1000)}s`,
      { method, limit: call.ctx.writeLimiter.limitText },
      { retryable: true, retryAfterMs: wait },
    );
  }
}

/**
 * The current file as a document plus its config.get hash; an unparseable file has `doc: undefined`
 * (and the hash of its text). Throws when the file cannot be read.
 */
export async function currentFile(path: string): Promise<{ exists: boolean; doc: Doc | undefined; hash: string | null }> {
  try {
    const f = await readConfigFile(path);
    return { exists: f.exists, doc: f.parsed as Doc, hash: configHash(f.raw, f.hash) };
  } catch (err) {
    if (!(err instanceof ConfigError) || err.kind === "read") throw err;
    const text = await Bun.file(path).text();
    return { exists: true, doc: undefined, hash: configHash(text) };
  }
}

type WriteMethod = "config.set" | "config.patch" | "config.apply";

async function writeFromRpc(
  method: WriteMethod,
  params: WriteParams,
  call: MethodCall,
): Promise<ResultOf<WriteMethod>> {
  enforceWriteLimit(method, call);
  const { ctx } = call;
  const path = ctx.snapshot.paths.configPath;
  const current = await currentFile(path);
  if (current.exists) {
    if (!params.baseHash) throw invalid("config base hash required; re-run config.get and retry");
    if (params.baseHash !== current.hash) throw invalid("config changed since last load; re-run config.get and retry");
  }
  let incoming: unknown;
  try {
    incoming = params.raw.trim() === "" ? {} : Bun.JSON5.parse(params.raw);
  } catch (err) {
    throw invalid(Messages.invalidParams(method, `raw: ${(err as Error).message}`));
  }
  if (!isPlainObject(incoming)) throw invalid(Messages.invalidParams(method, "raw: must be a JSON5 object"));

  let next: unknown;
  if (method === "config.patch") {
    if (current.exists && current.doc === undefined) throw invalid("config.patch: the current config does not parse; use config.apply with a complete config");
    let replacePaths: Segment[][];
    try {
      replacePaths = (params.replacePaths ?? []).map(parseKeyPath);
      next = mergePatch(current.doc ?? {}, incoming, replacePaths);
    } catch (err) {
      throw invalid(Messages.invalidParams(method, (err as Error).message));
    }
  } else next = incoming;

  const restored = restoreRedacted(next, current.doc ?? {});
  if (restored.unresolved.length > 0) {
    throw invalid(`invalid config: ${restored.unresolved[0]}: holds the redaction placeholder ${REDACTED} but there is no current value to keep`, {
      paths: restored.unresolved,
    });
  }
  next = restored.doc;
  const changed = diffPaths(withoutMeta(current.doc ?? {}), withoutMeta(next)).map(formatKeyPath);
  if (changed.length === 0 && current.exists && current.doc !== undefined) {
    return { ok: true, noop: true, path, hash: current.hash, changed, config: redactConfig(current.doc) as Record<string, unknown> };
  }
  const env = await composeEnv(process.env, ctx.snapshot.paths.stateDir, next);
  // This call applies its own write: the file watcher waits until it has (see holdWatcher).
  const release = method === "config.set" ? undefined : ctx.lifecycle?.holdWatcher();
  try {
    return await writeAndApply(method, params, ctx, path, next, env, changed);
  } finally {
    release?.();
  }
}

async function writeAndApply(
  method: WriteMethod,
  params: WriteParams,
  ctx: MethodCall["ctx"],
  path: string,
  next: unknown,
  env: Record<string, string | undefined>,
  changed: string[],
): Promise<ResultOf<WriteMethod>> {
  let written: WriteResult;
  try {
    written = await writeConfigDocument(path, next, { env });
  } catch (err) {
    if (!(err instanceof ConfigWriteError)) throw err;
    const first = err.issues[0];
    throw invalid(`invalid config: ${first.path}: ${first.message}`, { issues: err.issues });
  }
  const hash = configHash(written.text, written.hash);
  ctx.log.info(`${method}: wrote ${path} (${changed.length} key(s) changed${params.note ? `; note: ${params.note}` : ""})`);
  ctx.configChanged(hash);
  let reload: { status: string } & Record<string, unknown>;
  if (method === "config.set") {
    reload = { status: ctx.lifecycle?.hotReloadStatus === "active" ? "pending" : "not-watching" };
  } else if (ctx.lifecycle) {
    const o = await ctx.lifecycle.applyNow({ restartDelayMs: params.restartDelayMs });
    reload = { status: o.status, hot: o.hot, restart: o.restart, skipped: o.skipped, issues: o.issues };
  } else {
    reload = { status: "unavailable" };
  }
  return { ok: true, path, hash, changed, config: redactConfig(written.doc), reload };
}

function writeMethod(name: WriteMethod) {
  return defineMethod(name, { scope: "operator.admin", handler: (params, call) => writeFromRpc(name, params, call) });
}

export const configSetMethod = writeMethod("config.set");
export const configPatchMethod = writeMethod("config.patch");
export const configApplyMethod = writeMethod("config.apply");

export const secretsReloadMethod = defineMethod("secrets.reload", {
  scope: "operator.admin",
  handler: async (_params, { ctx }) => {
    if (!ctx.lifecycle) throw new RpcError(ErrorCodes.UNAVAILABLE, "secrets.reload unavailable: this gateway runs without config reload");
    const o = await ctx.lifecycle.reloadSecrets();
    return {
      ok: o.status !== "rejected",
      status: o.status,
      changed: o.changed,
      hot: o.hot,
      restart: o.restart,
      issues: o.issues,
      warningCount: ctx.snapshot.warnings.length,
    };
  },
});
