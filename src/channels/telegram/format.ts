/**
 * Agent Markdown → Telegram HTML (`parse_mode: "HTML"`), the formatting the Telegram docs
 * describe: bold, italic, strikethrough, spoilers, inline code, fenced code blocks (with a
 * language class), links with safe schemes only, headings as bold lines, block quotes, bullet
 * lists as `•`. Everything else is text, escaped (`&`, `<`, `>`, and `"` in attributes), so an
 * agent reply can never inject markup.
 *
 * Layout: text blocks end with a blank line, code blocks with a single newline, and the result
 * is trimmed at the end — which renders the pairing reply exactly as the original does.
 *
 * Chunking happens on blocks: rendered blocks are packed into messages of at most `limit`
 * characters; a block that is too long on its own is split (code blocks by lines, re-wrapped in
 * `<pre>`; text at paragraph/line/word boundaries) so every chunk is balanced, valid HTML.
 */

export const TELEGRAM_TEXT_LIMIT = 4000;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttr(text: string): string {
  return escapeHtml(text).replace(/"/g, "&quot;");
}

const SAFE_HREF = /^(?:https?:\/\/|tg:\/\/|mailto:|tel:)/i;

interface Rule {
  re: RegExp;
  render: (m: RegExpExecArray, depth: number) => string;
}

const MAX_DEPTH = 8;

// Order matters: earlier rules win at the same position.
const INLINE: Rule[] = [
  {
    re: /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/y,
    render: (m) => `<code>${escapeHtml(m[2].length > 2 && m[2].startsWith(" ") && m[2].endsWith(" ") ? m[2].slice(1, -1) : m[2])}</code>`,
  },
  {
    re: /\[([^\]\n]{1,1000})\]\(\s*<?([^()\s<>]{1,2048})>?(?:\s+"[^"\n]*")?\s*\)/y,
    render: (m, d) => (SAFE_HREF.test(m[2]) ? `<a href="${escapeAttr(m[2])}">${renderInline(m[1], d + 1)}</a>` : `${renderInline(m[1], d + 1)} (${escapeHtml(m[2])})`),
  },
  { re: /\*\*\*(?=\S)([\s\S]*?\S)\*\*\*(?!\*)/y, render: (m, d) => `<b><i>${renderInline(m[1], d + 1)}</i></b>` },
  { re: /\*\*(?=\S)([\s\S]*?\S)\*\*/y, render: (m, d) => `<b>${renderInline(m[1], d + 1)}</b>` },
  { re: /__(?=\S)([\s\S]*?\S)__(?![A-Za-z0-9_])/y, render: (m, d) => `<b>${renderInline(m[1], d + 1)}</b>` },
  { re: /~~(?=\S)([\s\S]*?\S)~~/y, render: (m, d) => `<s>${renderInline(m[1], d + 1)}</s>` },
  { re: /\|\|(?=\S)([\s\S]*?\S)\|\|/y, render: (m, d) => `<tg-spoiler>${renderInline(m[1], d + 1)}</tg-spoiler>` },
  { re: /\*(?=[^\s*])([^*\n]*?[^\s*])\*(?!\*)/y, render: (m, d) => `<i>${renderInline(m[1], d + 1)}</i>` },
  { re: /(?<![A-Za-z0-9_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![A-Za-z0-9_])/y, render: (m, d) => `<i>${renderInline(m[1], d + 1)}</i>` },
];

const TRIGGERS = /[`[*_~|]/g;

/** Inline Markdown of one line → HTML (nesting bounded; deeper markup stays literal text). */
export function renderInline(text: string, depth = 0): string {
  if (depth > MAX_DEPTH) return escapeHtml(text);
  let out = "";
  let plainFrom = 0;
  let i = 0;
  while (i < text.length) {
    TRIGGERS.lastIndex = i;
    const hit = TRIGGERS.exec(text);
    if (!hit) break;
    const at = hit.index;
    let next = at + 1;
    for (const rule of INLINE) {
      rule.re.lastIndex = at;
      const m = rule.re.exec(text);
      if (!m) continue;
      out += escapeHtml(text.slice(plainFrom, at)) + rule.render(m, depth);
      next = at + m[0].length;
      plainFrom = next;
      break;
    }
    i = next;
  }
  return out + escapeHtml(text.slice(plainFrom));
}

type Block = { kind: "text"; html: string; source: string } | { kind: "code"; lang: string; body: string };

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)[^\n]*$/;

/** Split Markdown into rendered blocks. */
export function toBlocks(markdown: string): Block[] {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length === 0) return;
    const source = para.join("\n");
    blocks.push({ kind: "text", source, html: renderLines(para) });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const marker = fence[1];
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        if (lines[j].trim().startsWith(marker[0].repeat(marker.length)) && lines[j].trim().replace(new RegExp(`^\\${marker[0]}+`), "").trim() === "") break;
        body.push(lines[j]);
      }
      blocks.push({ kind: "code", lang: fence[2] ?? "", body: body.length ? `${body.join("\n")}\n` : "" });
      i = j;
      continue;
    }
    if (line.trim() === "") {
      flush();
      continue;
    }
    para.push(line);
  }
  flush();
  return blocks;
}

function renderLines(lines: string[]): string {
  const out: string[] = [];
  let quote: string[] = [];
  const flushQuote = () => {
    if (quote.length) out.push(`<blockquote>${quote.join("\n")}</blockquote>`);
    quote = [];
  };
  for (const line of lines) {
    const q = /^ {0,3}>\s?(.*)$/.exec(line);
    if (q) {
      quote.push(renderLine(q[1]));
      continue;
    }
    flushQuote();
    out.push(renderLine(line));
  }
  flushQuote();
  return out.join("\n");
}

function renderLine(line: string): string {
  const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (heading) return `<b>${renderInline(heading[1])}</b>`;
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1]}• ${renderInline(bullet[2])}`;
  if (/^ {0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) return "———";
  return renderInline(line);
}

function renderCode(lang: string, body: string): string {
  const open = lang ? `<pre><code class="language-${escapeAttr(lang)}">` : "<pre><code>";
  return `${open}${escapeHtml(body)}</code></pre>`;
}

/** Markdown → one HTML string (no length limit). */
export function markdownToTelegramHtml(markdown: string): string {
  let out = "";
  for (const b of toBlocks(markdown)) out += b.kind === "code" ? `${renderCode(b.lang, b.body)}\n` : `${b.html}\n\n`;
  return out.replace(/\s+$/u, "");
}

/** Markdown → HTML chunks of at most `limit` characters each, every one balanced. */
export function markdownToTelegramChunks(markdown: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  const pieces: Array<{ html: string; sep: string }> = [];
  for (const b of toBlocks(markdown)) {
    if (b.kind === "code") {
      for (const html of splitCode(b.lang, b.body, limit)) pieces.push({ html, sep: "\n" });
    } else {
      for (const html of splitText(b.source, b.html, limit)) pieces.push({ html, sep: "\n\n" });
    }
  }
  const chunks: string[] = [];
  let current = "";
  for (const p of pieces) {
    const candidate = current + p.html;
    if (current && candidate.replace(/\s+$/u, "").length > limit) {
      chunks.push(current.replace(/\s+$/u, ""));
      current = "";
    }
    current += p.html + p.sep;
  }
  if (current.trim()) chunks.push(current.replace(/\s+$/u, ""));
  return chunks.length ? chunks : [];
}

function splitCode(lang: string, body: string, limit: number): string[] {
  const whole = renderCode(lang, body);
  if (whole.length <= limit) return [whole];
  const overhead = renderCode(lang, "").length;
  const room = Math.max(16, limit - overhead);
  const out: string[] = [];
  let part = "";
  const push = () => {
    if (part) out.push(renderCode(lang, part));
    part = "";
  };
  for (const line of body.split(/(?<=\n)/)) {
    if (escapeHtml(part + line).length <= room) {
      part += line;
      continue;
    }
    push();
    // A single over-long line: cut it by escaped length.
    let rest = line;
    while (escapeHtml(rest).length > room) {
      let n = Math.min(rest.length, room);
      while (n > 1 && escapeHtml(rest.slice(0, n)).length > room) n = Math.floor(n * 0.9);
      out.push(renderCode(lang, rest.slice(0, n)));
      rest = rest.slice(n);
    }
    part = rest;
  }
  push();
  return out;
}

function splitText(source: string, html: string, limit: number): string[] {
  if (html.length <= limit) return [html];
  // Re-render smaller source pieces until each fits; markup never spans a cut.
  const lines = source.split("\n");
  if (lines.length > 1) {
    const out: string[] = [];
    let group: string[] = [];
    const flush = () => {
      if (group.length) out.push(...splitText(group.join("\n"), renderLines(group), limit));
      group = [];
    };
    for (const line of lines) {
      const next = [...group, line];
      if (group.length && renderLines(next).length > limit) flush();
      group.push(line);
    }
    flush();
    return out;
  }
  const out: string[] = [];
  let rest = source;
  while (rest.length > 0) {
    let size = Math.min(rest.length, limit);
    let piece = cutAtSpace(rest, size);
    while (renderLines([piece]).length > limit && size > 8) {
      size = Math.floor(size * 0.8);
      piece = cutAtSpace(rest, size);
    }
    out.push(renderLines([piece]));
    rest = rest.slice(piece.length).replace(/^\s+/u, "");
  }
  return out;
}

function cutAtSpace(text: string, size: number): string {
  if (text.length <= size) return text;
  const space = text.lastIndexOf(" ", size);
  let cut = space > size * 0.5 ? space : size;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, Math.max(1, cut));
}

/** The plain-text fallback of a chunk Telegram refused to parse. */
export function htmlToPlainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}
