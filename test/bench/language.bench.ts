/**
 * Parse + check time of the `.sense` language: the three samples and a generated
 * pipeline of 2,000 layers, as medians. Goals (issue 2): under 5 ms for deepear.sense
 * and under 200 ms for 2,000 layers. Also formatting and hover on the large pipeline,
 * the services an editor runs on every keystroke or mouse move.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { URI } from 'langium';
import { buildDocument, createSenseServices } from '../../language/sense-module';
import { formatSenseDocument } from '../../language/sense-formatter';
import { medianMs, report } from './util';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** A pipeline with `layers` dense layers over 20 shared blocks and 5 heads, all placed. */
export function generatedPipeline(layers: number): string {
  const blocks = 20;
  const perBlock = Math.floor(layers / (blocks + 5));
  const lines = ['pipeline Big {', '  input audio { rate 16 kHz  window 1 s }', '  features { frames 25 ms hop 10 ms  logmel 40 bands }'];
  let count = 0;
  for (let b = 0; b < blocks; b++) {
    lines.push(`  shared b${b}${b > 0 ? ` from b${b - 1}` : ''} {`);
    if (b === 0) {
      lines.push('    flatten');
      count++;
    }
    for (let i = 0; i < perBlock; i++, count++) lines.push(`    l${i}: dense 64 relu`);
    lines.push('  }');
  }
  for (let h = 0; count < layers; h++) {
    const n = Math.min(perBlock, layers - count);
    lines.push(`  head h${h} from b${blocks - 1} {`);
    for (let i = 0; i < n - 1; i++, count++) lines.push('    dense 64 relu');
    lines.push('    dense 4 softmax', '    labels [a, b, c, d]', '  }');
    count++;
  }
  lines.push('  target snapdragon800');
  for (let b = 0; b < blocks; b++) lines.push(`  place b${b} on ${b % 2 === 0 ? 'cpu' : 'gpu'}`);
  lines.push('  compress b3.l2 svd rank 16', '}', '');
  return lines.join('\n');
}

/** Runs the benchmark and prints medians. */
export async function run(): Promise<void> {
  const services = createSenseServices();
  let n = 0;
  const check = async (text: string): Promise<void> => {
    const doc = await buildDocument(services, text, URI.file(`/bench/doc${n++ % 4}.sense`).toString());
    if (!doc.diagnostics) throw new Error('document was not validated');
  };
  const samples: Array<[string, number]> = [
    ['samples/deepear/deepear.sense', 5],
    ['samples/deepx/alexnet.sense', 5],
    ['samples/watch/activity.sense', 5],
  ];
  for (const [file, goal] of samples) {
    const text = readFileSync(join(root, file), 'utf8');
    const t0 = performance.now();
    await check(text);
    const coldMs = performance.now() - t0;
    // An editor re-checks on every keystroke, so the steady state (after the JIT has warmed up) is what users feel.
    const ms = await medianMs(() => check(text), 101, 60);
    report(`parse+check ${file}`, ms, `goal < ${goal} ms (${(ms / goal).toFixed(2)}x of goal); first run ${coldMs.toFixed(1)} ms`);
  }
  const big = generatedPipeline(2000);
  const bigMs = await medianMs(() => check(big), 15, 5);
  report('parse+check generated pipeline, 2,000 layers', bigMs, `goal < 200 ms (${(bigMs / 200).toFixed(2)}x of goal)`);
  const doc = await buildDocument(services, big, URI.file('/bench/big.sense').toString());
  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
  if (errors.length > 0) throw new Error(`generated pipeline has errors: ${errors[0].message}`);
  report('format generated pipeline, 2,000 layers', await medianMs(() => formatSenseDocument(doc), 11, 2));
  const hover = services.Sense.lsp.HoverProvider!;
  const position = doc.textDocument.positionAt(big.indexOf('l5: dense') + 5);
  report('hover on a layer of the 2,000-layer pipeline', await medianMs(() => hover.getHoverContent(doc, { textDocument: { uri: doc.textDocument.uri }, position }), 41, 5));
}
