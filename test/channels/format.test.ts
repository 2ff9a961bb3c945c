/**
 * Reply formatting: Markdown → Telegram HTML (escaping, safe links, code blocks, chunks that
 * are always balanced), Discord chunking, and the plain text chunker.
 */
import { describe, expect, test } from "bun:test";
import { chunkDiscord } from "../../src/channels/discord/client.ts";
import { escapeHtml, htmlToPlainText, markdownToTelegramChunks, markdownToTelegramHtml, renderInline } from "../../src/channels/telegram/format.ts";
import { backoffMs, chunkText, LruMap, readTextLimited, BodyTooLargeError, safeEqual } from "../../src/channels/util.ts";

describe("Telegram HTML", () => {
  test("inline formatting and escaping", () => {
    expect(renderInline("**b** *i* _i_ ~~s~~ ||sp|| `c<d>`")).toBe("<b>b</b> <i>i</i> <i>i</i> <s>s</s> <tg-spoiler>sp</tg-spoiler> <code>c&lt;d&gt;</code>");
    expect(renderInline("a < b && c > d")).toBe("a &lt; b &amp;&amp; c &gt; d");
    expect(renderInline("snake_case_name and 2 * 3 * 4")).toBe("snake_case_name and 2 * 3 * 4");
    expect(renderInline("**unclosed and `tick")).toBe("**unclosed and `tick");
    expect(renderInline("***both***")).toBe("<b><i>both</i></b>");
  });
  test("links: only safe schemes become anchors; attributes are escaped", () => {
    expect(renderInline('[x](https://e.com/?a=1&b="2")')).toBe('<a href="https://e.com/?a=1&amp;b=&quot;2&quot;">x</a>');
    expect(renderInline("[x](tg://user?id=1)")).toBe('<a href="tg://user?id=1">x</a>');
    expect(renderInline("[click](javascript:alert)")).toBe("click (javascript:alert)");
    expect(renderInline('[<b>](https://e.com/"><script>)')).not.toContain("<script>");
  });
  test("blocks: headings, bullets, quotes, fenced code with language, and the layout rule", () => {
    expect(markdownToTelegramHtml("# Title\n- a\n* b\n> q <x>\n\n```py\nprint(1 < 2)\n```\ntail")).toBe(
      '<b>Title</b>\n• a\n• b\n<blockquote>q &lt;x&gt;</blockquote>\n\n<pre><code class="language-py">print(1 &lt; 2)\n</code></pre>\ntail',
    );
    expect(markdownToTelegramHtml("```\nunclosed <fence>")).toBe("<pre><code>unclosed &lt;fence&gt;\n</code></pre>");
    expect(markdownToTelegramHtml('```"><script>\nx\n```')).not.toContain("<script>");
    expect(markdownToTelegramHtml("")).toBe("");
  });
  test("chunks never exceed the limit and are balanced, whatever the input", () => {
    const inputs = [
      "x".repeat(20_000),
      `${"**bold** word ".repeat(2000)}`,
      `\`\`\`\n${"<>&".repeat(5000)}\n\`\`\``,
      `${"line\n".repeat(3000)}`,
      `${"😀".repeat(5000)}`,
      `${"[l](https://e.com) ".repeat(1000)}`,
    ];
    for (const md of inputs) {
      const chunks = markdownToTelegramChunks(md, 4000);
      expect(chunks.length).toBeGreaterThan(1);
      for (const c of chunks) {
        expect(c.length).toBeLessThanOrEqual(4000);
        for (const tag of ["b", "i", "s", "code", "pre", "a", "blockquote", "tg-spoiler"]) {
          expect(c.split(`<${tag}`).length).toBe(c.split(`</${tag}>`).length);
        }
        expect(c).not.toMatch(/[\uD800-\uDBFF]$/);
      }
    }
    expect(htmlToPlainText(markdownToTelegramHtml("**a** & <b>"))).toBe("a & <b>");
    expect(escapeHtml("<&>")).toBe("&lt;&amp;&gt;");
  });
});

describe("Discord chunking", () => {
  test("2000 chars, 17 lines, fences closed and reopened with their language", () => {
    const text = `start\n\`\`\`js\n${Array.from({ length: 40 }, (_, i) => `let v${i} = ${i};`).join("\n")}\n\`\`\`\nend`;
    const chunks = chunkDiscord(text);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(2000);
      expect(c.split("\n").length).toBeLessThanOrEqual(17);
      expect((c.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(chunks[1]).toStartWith("```js\n");
    expect(chunkDiscord("short")).toEqual(["short"]);
    for (const c of chunkDiscord("y".repeat(9000))) expect(c.length).toBeLessThanOrEqual(2000);
  });
});

describe("helpers", () => {
  test("chunkText prefers paragraph, line, then word boundaries", () => {
    expect(chunkText("aaa bbb ccc", 7)).toEqual(["aaa bbb", "ccc"]);
    expect(chunkText("p1 line\n\np2 line", 12)).toEqual(["p1 line", "p2 line"]);
    expect(chunkText("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
    expect(chunkText("", 10)).toEqual([""]);
    expect(() => chunkText("x", 0)).toThrow(RangeError);
  });
  test("backoff grows to its cap; LRU evicts the least recently used; bounded bodies; constant-time compare", async () => {
    const p = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(p, n))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffMs({ ...p, jitter: 0.5 }, 1, () => 1)).toBe(50);
    const lru = new LruMap<string, number>(2);
    lru.set("a", 1).set("b", 2);
    lru.get("a");
    lru.set("c", 3);
    expect([lru.has("a"), lru.has("b"), lru.has("c")]).toEqual([true, false, true]);
    expect(await readTextLimited(new Response("hello"), 10)).toBe("hello");
    await expect(readTextLimited(new Response("x".repeat(100)), 10)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abd", "abc")).toBe(false);
    expect(safeEqual(null, "abc")).toBe(false);
    expect(safeEqual("abcd", "abc")).toBe(false);
  });
});

describe("agent envelope", () => {
  test("DMs are the text; group turns label senders and carry the pending context", async () => {
    const { inboundText, CONTEXT_HEADER, CURRENT_HEADER } = await import("../../src/channels/envelope.ts");
    const sender = { id: "10", name: "Alice" };
    expect(inboundText({ chat: { id: "10", kind: "direct" }, sender, text: "hi", history: [] })).toBe("hi");
    expect(inboundText({ chat: { id: "-1", kind: "group" }, sender, text: "hi", history: [] })).toBe("Alice (10): hi");
    const history = [{ senderId: "11", sender: "Bob", text: "earlier", messageId: "1", timestamp: 0 }];
    expect(inboundText({ chat: { id: "-1", kind: "group" }, sender, text: "now", history })).toBe(`${CONTEXT_HEADER}\nBob (11): earlier\n\n${CURRENT_HEADER}\nAlice (10): now`);
  });
});
