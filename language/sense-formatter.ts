/**
 * The `.sense` formatter. One canonical layout, chosen so that `sense fmt` and the
 * editor agree and formatting twice changes nothing:
 *
 * - Indentation is 2 spaces per block level; top-level `pipeline` and `device`
 *   declarations are separated by exactly one blank line.
 * - Inside a `{ ... }` block, one statement per line. Exception, to keep short blocks
 *   readable (`head speaker from encoder { dense 512 relu  dense 23 softmax }`,
 *   `input audio { rate 16 kHz  window 1 s }`): a block whose braces are on one line
 *   in the source, that holds no comment and fits in {@link MAX_LINE_WIDTH} columns,
 *   stays on one line, with two spaces between its statements. To expand a one-line
 *   block, put a line break after its `{` and format; to collapse one, join its lines.
 * - Within a statement tokens are separated by one space, except none before `,` `:`
 *   `.` `/` `]` `%` and none after `[` `.` `/` (`labels [a, b]`, `fc1: dense 64`,
 *   `encoder.2`, `1.2 GMAC/s`, `95%`). Line breaks inside a statement in the source are
 *   not kept (except after a line comment), so every layout of the same tokens formats
 *   the same.
 * - A statement with a comma-separated list (`labels [a, b]`, `accelerometer [x, y, z]`,
 *   `stats mean, std`, `place a, b on cpu`, `supports dense, relu`) whose line would be
 *   wider than {@link MAX_LINE_WIDTH} is filled: as many items per line as fit, a break
 *   only ever after a comma, continuation lines one level deeper than the statement. An
 *   item with its comma (the last one with the rest of the statement, `s23]`, `c on cpu`)
 *   is never split; one wider than the line stays whole. A statement that fits stays on
 *   one line. A statement inside a one-line block is not wrapped: the block is expanded
 *   first, then its statements are wrapped as needed.
 * - One blank line between statements is kept where the source had one or more; none
 *   after `{` or before `}`.
 * - Comments are kept. A comment that ends a line stays at the end of that line, in
 *   its column when the code still ends before it (so aligned comments stay aligned),
 *   otherwise (and always on a continuation line of a filled list, whose code ends far
 *   from where the source's did) two spaces after the code. A comment on its own line
 *   stays on its own line at the indentation of what follows, except that a one-line
 *   block comment starting a line keeps the code after it on that line. A line comment
 *   in the middle of a statement keeps its line break; the statement continues one
 *   level deeper (a long list goes on filling from there). When a list item moves to a
 *   continuation line, the one-line block comments between it and the comma before it
 *   move with it.
 *
 * A document with syntax errors is not formatted (no edits): reflowing text the parser
 * did not understand could change its meaning.
 */
import { AstUtils, CstUtils, isLeafCstNode, type AstNode, type LangiumDocument } from 'langium';
import type { Formatter } from 'langium/lsp';
import type { DocumentOnTypeFormattingOptions, TextEdit } from 'vscode-languageserver-protocol';
import * as ast from './generated/ast';

/**
 * Code wider than this (in columns, end-of-line comments excluded) breaks a one-line block
 * into lines and wraps a statement's comma-separated list.
 */
export const MAX_LINE_WIDTH = 100;

const INDENT = '  ';
const NO_SPACE_BEFORE: ReadonlySet<string> = new Set([',', ':', '.', '/', ']', '%']);
const NO_SPACE_AFTER: ReadonlySet<string> = new Set(['[', '.', '/']);

type BracedContainer = ast.Pipeline | ast.Input | ast.Features | ast.Shared | ast.Head | ast.Device | ast.Processor | ast.Link;

function isBraced(node: AstNode): node is BracedContainer {
  return (
    ast.isPipeline(node) ||
    ast.isInput(node) ||
    ast.isFeatures(node) ||
    ast.isShared(node) ||
    ast.isHead(node) ||
    ast.isDevice(node) ||
    ast.isProcessor(node) ||
    ast.isLink(node)
  );
}

interface Token {
  text: string;
  offset: number;
  end: number;
  line: number;
  endLine: number;
  column: number;
}

/** What comes before a token: a line break at an indentation level, or spaces on the same line. */
type Separator = { line: true; indent: number; forcedBlank: boolean } | { line: false; space: string };

interface Layout {
  sep: Separator[];
  depth: number[];
  /** Index of the last token of the innermost statement holding each token. */
  stmtEnd: number[];
  closers: Set<number>;
  topEnds: Set<number>;
  /** Open-brace token index of each container laid out on one line -> its close-brace index. */
  inlineClose: Map<number, number>;
}

/** Line index of every offset, for comment and token positions. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Formats a parsed `.sense` document and returns the canonical text, or undefined when
 * the document has lexer or parser errors (it is then left alone).
 */
export function formatSenseDocument(document: LangiumDocument): string | undefined {
  const { parseResult } = document;
  if (parseResult.lexerErrors.length > 0 || parseResult.parserErrors.length > 0) return undefined;
  const text = document.textDocument.getText();
  const root = parseResult.value;
  if (!root.$cstNode) return undefined;
  return new SenseLayoutPrinter(text, root as ast.Model).print();
}

class SenseLayoutPrinter {
  private readonly starts: number[];
  private readonly tokens: Token[] = [];
  private readonly comments: Token[] = [];
  private readonly indexOf = new Map<number, number>();
  private readonly notInline = new Set<AstNode>();

  constructor(
    private readonly text: string,
    private readonly root: ast.Model,
  ) {
    this.starts = lineStarts(text);
    for (const node of CstUtils.streamCst(root.$cstNode!)) {
      if (!isLeafCstNode(node)) continue;
      const leaf = node;
      const token = this.toToken(leaf.offset, leaf.end);
      if (leaf.hidden) {
        if (token.text.trim().length > 0) this.comments.push(token);
      } else {
        this.indexOf.set(leaf.offset, this.tokens.length);
        this.tokens.push(token);
      }
    }
    this.collectStrayComments();
    this.comments.sort((a, b) => a.offset - b.offset);
  }

  print(): string {
    // A one-line block that turns out too wide is expanded; blocks only ever go from
    // one line to several, so this settles after at most one pass per block.
    for (;;) {
      const layout = this.layout();
      const result = this.render(layout);
      if (result.tooWide.length === 0) return result.text;
      for (const node of result.tooWide) this.notInline.add(node);
    }
  }

  private toToken(offset: number, end: number): Token {
    const line = lineOf(this.starts, offset);
    return { text: this.text.slice(offset, end), offset, end, line, endLine: lineOf(this.starts, Math.max(offset, end - 1)), column: offset - this.starts[line] };
  }

  /** Comments the CST does not hold (after the last token, or in an empty file) are found by scanning the gaps. */
  private collectStrayComments(): void {
    const known = new Set(this.comments.map((c) => c.offset));
    let previousEnd = 0;
    const gaps: Array<[number, number]> = [];
    for (const t of this.tokens) {
      gaps.push([previousEnd, t.offset]);
      previousEnd = t.end;
    }
    gaps.push([previousEnd, this.text.length]);
    const pattern = /\/\/[^\n\r]*|\/\*[\s\S]*?\*\//g;
    for (const [from, to] of gaps) {
      const gap = this.text.slice(from, to);
      if (!gap.includes('/')) continue;
      pattern.lastIndex = 0;
      for (let m = pattern.exec(gap); m; m = pattern.exec(gap)) {
        const offset = from + m.index;
        if (!known.has(offset)) this.comments.push(this.toToken(offset, offset + m[0].length));
      }
    }
  }

  private firstToken(node: AstNode): number | undefined {
    const cst = node.$cstNode;
    if (!cst) return undefined;
    for (const leaf of CstUtils.streamCst(cst)) {
      if (isLeafCstNode(leaf) && !leaf.hidden) return this.indexOf.get(leaf.offset);
    }
    return undefined;
  }

  private lastToken(node: AstNode): number | undefined {
    const cst = node.$cstNode;
    if (!cst) return undefined;
    let last: number | undefined;
    for (let i = this.tokenAtOrAfter(cst.offset); i < this.tokens.length && this.tokens[i].end <= cst.end; i++) last = i;
    return last;
  }

  private tokenAtOrAfter(offset: number): number {
    return firstAtOrAfter(this.tokens, offset);
  }

  /** The `{` and `}` tokens of a braced container (its own keywords, not a child's). */
  private braces(node: BracedContainer): [number, number] | undefined {
    let open: number | undefined;
    let close: number | undefined;
    for (const leaf of CstUtils.streamCst(node.$cstNode!)) {
      if (!isLeafCstNode(leaf) || leaf.hidden || leaf.astNode !== node) continue;
      if (leaf.text === '{' && open === undefined) open = this.indexOf.get(leaf.offset);
      if (leaf.text === '}') close = this.indexOf.get(leaf.offset);
    }
    return open !== undefined && close !== undefined ? [open, close] : undefined;
  }

  private hasComment(from: number, to: number): boolean {
    return this.comments.some((c) => c.offset >= from && c.offset < to);
  }

  private statementsOf(node: AstNode): AstNode[] {
    return AstUtils.streamContents(node)
      .filter((child) => child.$cstNode !== undefined)
      .toArray()
      .sort((a, b) => a.$cstNode!.offset - b.$cstNode!.offset);
  }

  private layout(): Layout {
    const n = this.tokens.length;
    const layout: Layout = {
      sep: new Array<Separator>(n),
      depth: new Array<number>(n).fill(0),
      stmtEnd: new Array<number>(n).fill(n - 1),
      closers: new Set(),
      topEnds: new Set(),
      inlineClose: new Map(),
    };
    for (let i = 0; i < n; i++) {
      layout.sep[i] = { line: false, space: i > 0 && (NO_SPACE_BEFORE.has(this.tokens[i].text) || NO_SPACE_AFTER.has(this.tokens[i - 1].text)) ? '' : ' ' };
    }
    this.statementsOf(this.root).forEach((stmt, k) => {
      const first = this.firstToken(stmt);
      if (first === undefined) return;
      layout.sep[first] = { line: true, indent: 0, forcedBlank: k > 0 };
      this.layoutStatement(stmt, 0, layout);
      const last = this.lastToken(stmt);
      if (last !== undefined) layout.topEnds.add(last);
    });
    return layout;
  }

  private layoutStatement(stmt: AstNode, depth: number, layout: Layout): void {
    const first = this.firstToken(stmt);
    const last = this.lastToken(stmt);
    if (first === undefined || last === undefined) return;
    for (let i = first; i <= last; i++) {
      layout.depth[i] = depth;
      layout.stmtEnd[i] = last;
    }
    if (!isBraced(stmt)) return;
    const braces = this.braces(stmt);
    if (!braces) return;
    const [open, close] = braces;
    const inline = this.isInline(stmt, open, close);
    const children = this.statementsOf(stmt).filter((c) => c.$cstNode!.offset > this.tokens[open].offset);
    children.forEach((child, k) => {
      const childFirst = this.firstToken(child);
      if (childFirst === undefined) return;
      layout.sep[childFirst] = inline ? { line: false, space: k === 0 ? ' ' : '  ' } : { line: true, indent: depth + 1, forcedBlank: false };
      this.layoutStatement(child, depth + 1, layout);
    });
    layout.closers.add(close);
    if (inline) {
      layout.sep[close] = { line: false, space: children.length === 0 ? '' : ' ' };
      layout.inlineClose.set(open, close);
    } else {
      layout.sep[close] = { line: true, indent: depth, forcedBlank: false };
    }
  }

  private isInline(node: BracedContainer, open: number, close: number): boolean {
    if (this.notInline.has(node)) return false;
    const o = this.tokens[open];
    const c = this.tokens[close];
    return o.line === c.line && !this.hasComment(o.offset, c.end);
  }

  /**
   * Whether a list item starting at token `i` goes on a continuation line: it follows a
   * comma and, with the rest of its item up to the next comma (or the end of the
   * statement) and the block comments inside it, would carry the current line past
   * {@link MAX_LINE_WIDTH}.
   */
  private wrapsBefore(i: number, cur: string | undefined, space: string, layout: Layout, leadingWidth: number): boolean {
    if (cur === undefined || i === 0 || this.tokens[i - 1].text !== ',') return false;
    let width = cur.length + leadingWidth + space.length + this.tokens[i].text.length;
    const end = layout.stmtEnd[i];
    for (let j = i + 1; width <= MAX_LINE_WIDTH && j <= end && this.tokens[j - 1].text !== ','; j++) {
      const sep = layout.sep[j];
      if (sep.line) break;
      // A comment that is a line comment, spans lines or starts a line breaks the line
      // itself: the item ends there.
      let lastLine = this.tokens[j - 1].endLine;
      let breaks = false;
      for (const c of this.commentsBetween(this.tokens[j - 1].end, this.tokens[j].offset)) {
        breaks ||= c.text.startsWith('//') || c.line !== c.endLine || c.line !== lastLine;
        lastLine = c.endLine;
        width += 1 + c.text.length;
      }
      if (breaks) break;
      width += sep.space.length + this.tokens[j].text.length;
    }
    return width > MAX_LINE_WIDTH;
  }

  /**
   * Whether `comments` (those right before token `i`) are one-line block comments that
   * continue the line of the token before them, so they can move with token `i`.
   */
  private onPreviousLine(comments: readonly Token[], i: number): boolean {
    let line = i > 0 ? this.tokens[i - 1].endLine : -1;
    for (const c of comments) {
      if (c.text.startsWith('//') || c.line !== line || c.endLine !== c.line) return false;
      line = c.endLine;
    }
    return true;
  }

  /** The comments that start in [from, to), in order. */
  private commentsBetween(from: number, to: number): Token[] {
    const lo = firstAtOrAfter(this.comments, from);
    const found: Token[] = [];
    for (let k = lo; k < this.comments.length && this.comments[k].offset < to; k++) found.push(this.comments[k]);
    return found;
  }

  private render(layout: Layout): { text: string; tooWide: AstNode[] } {
    const out: string[] = [];
    let cur: string | undefined;
    let lastEnd = 0;
    let lastEndLine = -1;
    let lastWasTopEnd = false;
    let lastWasToken = false;
    let forceBreak = false;
    // Whether the current line continues a filled list: its code ends far from where the
    // source's did, so a comment after it does not keep its source column.
    let filled = false;
    const openInlineStarts: Array<{ close: number; node: AstNode }> = [];
    const tooWide: AstNode[] = [];

    const blankInSource = (start: number): boolean => {
      const gap = this.text.slice(lastEnd, start);
      const first = gap.indexOf('\n');
      return first >= 0 && gap.indexOf('\n', first + 1) >= 0;
    };
    const newLine = (indent: number, blank: boolean): void => {
      if (cur !== undefined) out.push(cur.trimEnd());
      const previous = out[out.length - 1];
      if (blank && out.length > 0 && previous !== '' && !previous.endsWith('{')) out.push('');
      cur = INDENT.repeat(indent);
      filled = false;
    };

    const emitComment = (c: Token, next: number | undefined): void => {
      const isLine = c.text.startsWith('//');
      if (cur !== undefined && c.line === lastEndLine) {
        if (isLine) {
          const col = c.column > cur.length && !filled ? c.column : cur.length + 2;
          cur = cur.padEnd(col) + c.text;
        } else cur += (cur.trim() === '' ? '' : ' ') + c.text;
        forceBreak = isLine || c.line !== c.endLine;
      } else {
        let indent = 0;
        if (next !== undefined) {
          const sep = layout.sep[next];
          if (sep.line) indent = layout.closers.has(next) ? sep.indent + 1 : sep.indent;
          else indent = layout.depth[next] + 1;
        }
        const blank = blankInSource(c.offset) || (indent === 0 && lastWasTopEnd);
        newLine(indent, blank);
        cur += c.text;
        // `/* why */ item` at the start of a line stays together.
        forceBreak = isLine || c.line !== c.endLine || next === undefined || this.tokens[next].line !== c.endLine;
      }
      lastEnd = c.end;
      lastEndLine = c.endLine;
      lastWasTopEnd = false;
      lastWasToken = false;
    };

    let ci = 0;
    for (let i = 0; i < this.tokens.length; i++) {
      const t = this.tokens[i];
      let leadingEnd = ci;
      while (leadingEnd < this.comments.length && this.comments[leadingEnd].offset < t.offset) leadingEnd++;
      const leading = this.comments.slice(ci, leadingEnd);
      let sep = layout.sep[i];
      const space = sep.line ? '' : sep.space;
      // Block comments between a comma and the next item move with the item.
      const fill =
        !sep.line &&
        !forceBreak &&
        openInlineStarts.length === 0 &&
        this.onPreviousLine(leading, i) &&
        this.wrapsBefore(i, cur, space, layout, leading.reduce((w, c) => w + 1 + c.text.length, 0));
      if (fill) {
        newLine(layout.depth[i] + 1, false);
        filled = true;
      }
      while (ci < leadingEnd) emitComment(this.comments[ci++], i);
      if (!sep.line && forceBreak) sep = { line: true, indent: layout.depth[i] + 1, forcedBlank: false };
      if (fill) {
        cur += (cur!.trim() === '' ? '' : space) + t.text;
      } else if (sep.line || cur === undefined) {
        const indent = sep.line ? sep.indent : 0;
        const forced = sep.line && sep.forcedBlank && lastWasToken;
        const blank = !layout.closers.has(i) && (forced || blankInSource(t.offset));
        newLine(indent, blank);
        cur += t.text;
      } else {
        cur += sep.space + t.text;
      }
      forceBreak = false;
      const close = layout.inlineClose.get(i);
      if (close !== undefined) {
        const leaf = CstUtils.findLeafNodeAtOffset(this.root.$cstNode!, t.offset);
        if (leaf) openInlineStarts.push({ close, node: leaf.astNode });
      }
      while (openInlineStarts.length > 0 && openInlineStarts[openInlineStarts.length - 1].close === i) {
        const { node } = openInlineStarts.pop()!;
        // Only the outermost one-line block is expanded per pass; inner ones may then fit.
        if (cur!.length > MAX_LINE_WIDTH && openInlineStarts.length === 0) tooWide.push(node);
      }
      lastEnd = t.end;
      lastEndLine = t.endLine;
      lastWasTopEnd = layout.topEnds.has(i);
      lastWasToken = true;
    }
    while (ci < this.comments.length) emitComment(this.comments[ci++], undefined);
    if (cur !== undefined) out.push(cur.trimEnd());
    return { text: out.length === 0 ? '' : out.join('\n') + '\n', tooWide };
  }
}

/** The Langium formatter service: one edit replacing the document with its canonical form. */
export class SenseFormatter implements Formatter {
  formatDocument(document: LangiumDocument): TextEdit[] {
    return this.fullEdit(document);
  }

  /** Range formatting formats the whole document: the layout of a block depends on its neighbours. */
  formatDocumentRange(document: LangiumDocument): TextEdit[] {
    return this.fullEdit(document);
  }

  formatDocumentOnType(): TextEdit[] {
    return [];
  }

  get formatOnTypeOptions(): DocumentOnTypeFormattingOptions | undefined {
    return undefined;
  }

  private fullEdit(document: LangiumDocument): TextEdit[] {
    const formatted = formatSenseDocument(document);
    const text = document.textDocument.getText();
    if (formatted === undefined || formatted === text) return [];
    return [{ range: { start: { line: 0, character: 0 }, end: document.textDocument.positionAt(text.length) }, newText: formatted }];
  }
}

// Index of the first of `items` (sorted by offset) whose offset is at least `offset`, by binary search.
function firstAtOrAfter(items: readonly { offset: number }[], offset: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
