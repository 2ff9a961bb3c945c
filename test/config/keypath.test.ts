import { describe, expect, test } from "bun:test";
import {
  diffPaths,
  formatKeyPath,
  getAtPath,
  jsonEqual,
  KeyPathError,
  mergePatch,
  parseKeyPath,
  setAtPath,
  unsetAtPath,
} from "../../src/config/keypath.ts";

describe("parseKeyPath / formatKeyPath", () => {
  test("dots, indexes and quoted keys", () => {
    expect(parseKeyPath("gateway.auth.token")).toEqual(["gateway", "auth", "token"]);
    expect(parseKeyPath("gateway.trustedProxies[0]")).toEqual(["gateway", "trustedProxies", 0]);
    expect(parseKeyPath('models.providers["my.provider"].apiKey')).toEqual(["models", "providers", "my.provider", "apiKey"]);
    expect(parseKeyPath("a['b c'][2].d")).toEqual(["a", "b c", 2, "d"]);
    expect(parseKeyPath("  meta.lastTouchedVersion ")).toEqual(["meta", "lastTouchedVersion"]);
  });

  test("round trip through formatKeyPath", () => {
    for (const p of ["gateway.auth.token", "gateway.trustedProxies[0]", 'models.providers["my.provider"].apiKey', "$schema"]) {
      expect(formatKeyPath(parseKeyPath(p))).toBe(p);
    }
    expect(formatKeyPath([])).toBe("<root>");
  });

  test("bad paths are errors with the reason", () => {
    for (const [p, why] of [
      ["", "empty"],
      ["a..b", "empty key"],
      ["a.", "ends with ."],
      [".a", "empty key"],
      ["a[", "unclosed ["],
      ["a[x]", "bad index"],
      ['a[""]', "empty key"],
      ["a[0]b", 'unexpected "b"'],
      ["__proto__.x", "not allowed"],
      ["a.constructor", "not allowed"],
    ] as const) {
      expect(() => parseKeyPath(p)).toThrow(KeyPathError);
      expect(() => parseKeyPath(p)).toThrow(why);
    }
  });
});

describe("get / set / unset", () => {
  const doc = { gateway: { auth: { token: "t" }, trustedProxies: ["a", "b"] }, n: null };

  test("getAtPath distinguishes missing from null/undefined values", () => {
    expect(getAtPath(doc, ["gateway", "auth", "token"])).toEqual({ found: true, value: "t" });
    expect(getAtPath(doc, ["n"])).toEqual({ found: true, value: null });
    expect(getAtPath(doc, ["gateway", "trustedProxies", 1])).toEqual({ found: true, value: "b" });
    expect(getAtPath(doc, ["gateway", "trustedProxies", 2])).toEqual({ found: false });
    expect(getAtPath(doc, ["gateway", "nope", "x"])).toEqual({ found: false });
    expect(getAtPath(doc, ["gateway", "auth", "token", "length"])).toEqual({ found: false });
    expect(getAtPath(doc, ["toString"])).toEqual({ found: false });
  });

  test("setAtPath copies along the path, creates objects, never mutates the input", () => {
    const out = setAtPath(doc, ["gateway", "remote", "url"], "wss://x");
    expect(out.gateway).toMatchObject({ remote: { url: "wss://x" }, auth: { token: "t" } });
    expect((doc.gateway as Record<string, unknown>).remote).toBeUndefined();
    expect(out.gateway.auth).toBe(doc.gateway.auth);
    const arr = setAtPath(doc, ["gateway", "trustedProxies", 2], "c");
    expect(arr.gateway.trustedProxies).toEqual(["a", "b", "c"]);
    expect(doc.gateway.trustedProxies).toEqual(["a", "b"]);
  });

  test("setAtPath refuses to walk through scalars or past array ends", () => {
    expect(() => setAtPath(doc, ["gateway", "auth", "token", "x"], 1)).toThrow("gateway.auth.token is not an object");
    expect(() => setAtPath(doc, ["gateway", "trustedProxies", 5], "x")).toThrow("past the end");
    expect(() => setAtPath(doc, ["gateway", "auth", 0], "x")).toThrow("is not an array");
    expect(() => setAtPath(doc, [], 1)).toThrow("root must be an object");
  });

  test("unsetAtPath removes keys and array items; missing → undefined", () => {
    expect(unsetAtPath(doc, ["gateway", "auth", "token"]) as unknown).toEqual({ gateway: { auth: {}, trustedProxies: ["a", "b"] }, n: null });
    expect(unsetAtPath(doc, ["gateway", "trustedProxies", 0])?.gateway.trustedProxies).toEqual(["b"]);
    expect(unsetAtPath(doc, ["gateway", "nope"])).toBeUndefined();
    expect(unsetAtPath(doc, [])).toBeUndefined();
    expect(doc.gateway.auth.token).toBe("t");
  });
});

describe("jsonEqual / diffPaths / mergePatch", () => {
  test("jsonEqual ignores key order and undefined-valued keys", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, x: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: null }, { a: undefined })).toBe(false);
  });

  test("diffPaths reports changed leaves; arrays are leaves; added subtrees are reported leaf by leaf", () => {
    const a = { gateway: { port: 1, trustedProxies: ["x"] }, keep: { same: true } };
    const b = { gateway: { port: 2, trustedProxies: ["x", "y"] }, keep: { same: true }, agents: { defaults: { model: "m" }, entries: {} } };
    expect(diffPaths(a, b).map(formatKeyPath).sort()).toEqual(["agents.defaults.model", "agents.entries", "gateway.port", "gateway.trustedProxies"]);
    expect(diffPaths(b, a).map(formatKeyPath).sort()).toEqual(["agents.defaults.model", "agents.entries", "gateway.port", "gateway.trustedProxies"]);
    expect(diffPaths({ a: { b: 1 } }, { a: "scalar" }).map(formatKeyPath)).toEqual(["a"]);
    expect(diffPaths(a, structuredClone(a))).toEqual([]);
  });

  test("mergePatch: objects merge, null deletes, arrays and scalars replace, replacePaths replace objects", () => {
    const target = { gateway: { port: 1, auth: { token: "t", mode: "token" }, trustedProxies: ["a"] }, x: 1 };
    expect(mergePatch(target, { gateway: { port: 2, auth: { mode: null }, trustedProxies: ["b"] }, x: null, y: { z: 1 } })).toEqual({
      gateway: { port: 2, auth: { token: "t" }, trustedProxies: ["b"] },
      y: { z: 1 },
    });
    expect(mergePatch(target, { gateway: { auth: { mode: "password" } } }, [["gateway", "auth"]])).toEqual({
      gateway: { port: 1, auth: { mode: "password" }, trustedProxies: ["a"] },
      x: 1,
    });
    expect(target.gateway.auth.mode).toBe("token");
    expect(() => mergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}'))).toThrow("not allowed");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
