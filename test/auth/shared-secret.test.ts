import { describe, expect, test } from "bun:test";
import { bearerFrom, checkBearer, checkSharedSecret, safeEqual } from "../../src/auth/shared-secret.ts";

describe("shared secret", () => {
  test("constant-time comparison is still a comparison", () => {
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
  });

  test("token mode reasons", () => {
    const auth = { mode: "token" as const, token: "t0k" };
    expect(checkSharedSecret(auth, { token: "t0k" })).toEqual({ ok: true, method: "token" });
    expect(checkSharedSecret(auth, { password: "t0k" })).toEqual({ ok: true, method: "token" });
    expect(checkSharedSecret(auth, { token: "x" })).toEqual({ ok: false, reason: "token_mismatch", provided: true });
    expect(checkSharedSecret(auth, { token: "" })).toEqual({ ok: false, reason: "token_missing", provided: false });
    expect(checkSharedSecret(auth, undefined)).toEqual({ ok: false, reason: "token_missing", provided: false });
    expect(checkSharedSecret({ mode: "token" }, { token: "x" })).toEqual({ ok: false, reason: "token_missing_config", provided: true });
  });

  test("password mode mirrors token mode", () => {
    const auth = { mode: "password" as const, password: "pw" };
    expect(checkSharedSecret(auth, { password: "pw" })).toEqual({ ok: true, method: "password" });
    expect(checkSharedSecret(auth, { password: "no" })).toEqual({ ok: false, reason: "password_mismatch", provided: true });
    expect(checkSharedSecret(auth, {})).toEqual({ ok: false, reason: "password_missing", provided: false });
  });

  test("none mode needs nothing", () => {
    expect(checkSharedSecret({ mode: "none" }, undefined)).toEqual({ ok: true, method: "none" });
  });

  test("Bearer parsing is case-insensitive and HTTP checks the mode's secret", () => {
    expect(bearerFrom("bearer abc ")).toBe("abc");
    expect(bearerFrom("Basic abc")).toBeUndefined();
    expect(checkBearer({ mode: "password", password: "pw" }, "pw").ok).toBe(true);
    expect(checkBearer({ mode: "token", token: "tk" }, "pw").ok).toBe(false);
  });
});
