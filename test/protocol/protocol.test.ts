import { describe, expect, test } from "bun:test";
import { authFailure, truncateReason } from "../../src/protocol/errors.ts";
import { ConnectParams, describeIssues } from "../../src/protocol/frames.ts";
import { capabilityOf, hasScope } from "../../src/protocol/scopes.ts";

describe("errors", () => {
  test("close reasons are cut to 120 UTF-8 bytes without splitting a character", () => {
    expect(truncateReason("a".repeat(200))).toHaveLength(120);
    const cut = truncateReason("é".repeat(100));
    expect(new TextEncoder().encode(cut).length).toBeLessThanOrEqual(120);
    expect(cut).toBe("é".repeat(60));
  });

  test("auth failures carry the exact upstream text and details", () => {
    expect(authFailure("token_mismatch").toShape()).toEqual({
      code: "INVALID_REQUEST",
      message: "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)",
      details: { code: "AUTH_TOKEN_MISMATCH", authReason: "token_mismatch", canRetryWithDeviceToken: false, recommendedNextStep: "update_auth_credentials" },
    });
    expect(authFailure("token_mismatch", { canRetryWithDeviceToken: true }).toShape().details).toMatchObject({
      canRetryWithDeviceToken: true,
      recommendedNextStep: "retry_with_device_token",
    });
    expect(authFailure("token_missing").message).toStartWith("unauthorized: gateway token missing (");
    expect(authFailure("rate_limited", { retryAfterMs: 1234 }).toShape()).toMatchObject({ retryable: true, retryAfterMs: 1234 });
    expect(authFailure("trusted_proxy_missing_header_x-user").toShape().details).toMatchObject({ code: "AUTH_IDENTITY_HEADER_REQUIRED" });
  });
});

describe("connect params validation text", () => {
  test("AJV-style messages with JSON pointers", () => {
    const input = { minProtocol: "4", maxProtocol: 4, client: { id: "cli", version: "1", platform: "linux" } };
    const r = ConnectParams.safeParse(input);
    expect(r.success).toBe(false);
    const text = describeIssues(r.error!, input);
    expect(text).toContain("at /minProtocol: must be number");
    expect(text).toContain("at /client: must have required property 'mode'");
  });
});

describe("scopes", () => {
  test("implications", () => {
    expect(hasScope(["operator.admin"], "operator.pairing")).toBe(true);
    expect(hasScope(["operator.write"], "operator.read")).toBe(true);
    expect(hasScope(["operator.write"], "operator.sessions.read")).toBe(true);
    expect(hasScope(["operator.read"], "operator.sessions.read")).toBe(true);
    expect(hasScope(["operator.sessions.write"], "operator.sessions.read")).toBe(true);
    expect(hasScope(["operator.read"], "operator.write")).toBe(false);
    expect(hasScope([], "operator.read")).toBe(false);
  });

  test("capability labels", () => {
    expect(capabilityOf(["operator.admin"])).toBe("admin_capable");
    expect(capabilityOf(["operator.write"])).toBe("write_capable");
    expect(capabilityOf(["operator.read"])).toBe("read_only");
    expect(capabilityOf([])).toBe("connected_no_operator_scope");
  });
});
