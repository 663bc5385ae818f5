/**
 * Fuzzing the language services with seeded mutations of the samples: deleted,
 * duplicated and swapped tokens, truncation and random bytes. The services carry the
 * engine's real estimator, as in the language server. No exception may escape any
 * service, the estimator may not fail, every diagnostic range must lie inside the
 * document, and formatting a document that parses must be idempotent and keep its
 * tokens. The engine stages and the file readers are fuzzed in test/unit/fuzz/.
 */
import { mulberry32 as rng } from '../../../engine/compress/random';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { formatSenseDocument } from '../../../language/sense-formatter';
import { IssueCodes } from '../../../language/issue-codes';
import { engineEstimator } from '../../../engine/estimate';
import { build, makeServices } from './helpers';
import { rangeInside } from '../fuzz/oracle';

const root = join(new URL('.', import.meta.url).pathname, '..', '..', '..');
const SAMPLES = ['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense', 'test/unit/language/fixtures/design-example.sense'].map((f) =>
  readFileSync(join(root, f), 'utf8'),
);
// 100 per sample keeps this file near 20 s on two busy cores; `npm run fuzz` runs the long version.
const MUTANTS_PER_SAMPLE = Number(process.env.SENSE_FUZZ_COUNT ?? 100);


const TOKEN = /"[^"]*"|\/\/[^\n]*|[_a-zA-Z]\w*|-?\d+(?:\.\d+)?|<->|->|\s+|./g;

function mutate(text: string, random: () => number): string {
  const tokens = text.match(TOKEN) ?? [];
  const pick = (): number => Math.floor(random() * tokens.length);
  const steps = 1 + Math.floor(random() * 4);
  for (let s = 0; s < steps; s++) {
    const op = Math.floor(random() * 6);
    if (tokens.length === 0) break;
    const i = pick();
    if (op === 0) tokens.splice(i, 1);
    else if (op === 1) tokens.splice(i, 0, tokens[i]);
    else if (op === 2) {
      const j = pick();
      [tokens[i], tokens[j]] = [tokens[j], tokens[i]];
    } else if (op === 3) tokens.splice(i);
    else if (op === 4) tokens.splice(i, 0, String.fromCharCode(Math.floor(random() * 256)));
    else tokens.splice(i, 0, ' ' + tokens[pick()] + ' ');
  }
  return tokens.join('');
}

async function exercise(services: ReturnType<typeof makeServices>, text: string, name: string): Promise<void> {
  const doc = await build(services, text, name);
  for (const d of doc.diagnostics ?? []) {
    if (String(d.message).startsWith('An error occurred')) throw new Error(`a check threw: ${d.message}`);
    if (d.code === IssueCodes.EstimateFailed) throw new Error(`the engine's estimate threw: ${d.message}`);
    if (!rangeInside(doc, d.range)) throw new Error(`diagnostic outside the document: ${JSON.stringify(d.range)} ${d.message}`);
  }
  const lsp = services.Sense.lsp;
  const id = { uri: doc.textDocument.uri };
  const length = text.length;
  const positions = [0, Math.floor(length / 3), Math.floor(length / 2), Math.floor((2 * length) / 3), length].map((o) => doc.textDocument.positionAt(o));
  for (const [k, position] of positions.entries()) {
    await lsp.HoverProvider!.getHoverContent(doc, { textDocument: id, position });
    // Completion re-parses the prefix; two positions per mutant keep the run short.
    if (k % 2 === 1) await lsp.CompletionProvider!.getCompletion(doc, { textDocument: id, position });
    await lsp.DefinitionProvider!.getDefinition(doc, { textDocument: id, position });
    await lsp.RenameProvider!.prepareRename(doc, { textDocument: id, position });
  }
  await lsp.DocumentSymbolProvider!.getSymbols(doc, { textDocument: id });
  await lsp.FoldingRangeProvider!.getFoldingRanges(doc, { textDocument: id });
  await lsp.SemanticTokenProvider!.semanticHighlight(doc, { textDocument: id });
  await lsp.CodeActionProvider!.getCodeActions(doc, { textDocument: id, range: { start: positions[0], end: positions[4] }, context: { diagnostics: doc.diagnostics ?? [] } });
  const formatted = formatSenseDocument(doc);
  if (formatted !== undefined) {
    const again = await build(services, formatted, `${name.replace(/\.sense$/, '')}-formatted.sense`);
    const twice = formatSenseDocument(again);
    if (twice !== formatted) throw new Error(`formatting is not idempotent:\n${text}\n---\n${formatted}\n---\n${twice}`);
    const tokens = (t: string): string[] => (t.match(TOKEN) ?? []).filter((x) => !/^\s+$/.test(x)).map((x) => x.replace(/\s+$/, ''));
    const a = tokens(text);
    const b = tokens(formatted);
    const at = a.findIndex((x, i) => x !== b[i]);
    if (at >= 0 || a.length !== b.length) throw new Error(`formatting changed the tokens at ${at}: ${JSON.stringify(a.slice(at - 3, at + 3))} -> ${JSON.stringify(b.slice(at - 3, at + 3))}`);
  }
}

describe('fuzzing the language services', () => {
  it.each(SAMPLES.map((s, i) => [i, s] as const))('sample %i: mutants never make a service throw', async (index, sample) => {
    const services = makeServices(engineEstimator);
    const random = rng(2015 + index);
    for (let n = 0; n < MUTANTS_PER_SAMPLE; n++) {
      const text = mutate(sample, random);
      try {
        await exercise(services, text, `fuzz-${index}-${n}.sense`);
      } catch (e) {
        throw new Error(`mutant ${n} of sample ${index} failed: ${(e as Error).stack}\n--- text ---\n${text}`);
      }
      if (n % 50 === 49) {
        // Drop the built fuzz documents so the workspace does not grow with every mutant.
        const docs = services.shared.workspace.LangiumDocuments;
        for (const d of docs.all.toArray()) if (d.uri.path.includes('fuzz-')) docs.deleteDocument(d.uri);
      }
    }
  });
});
