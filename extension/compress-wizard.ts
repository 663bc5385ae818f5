/**
 * Compress Layer from the command palette: which layer (the argument, the layer under the
 * cursor, or a pick), which method (SVD by rank with the rank the server suggests from the
 * spectrum, SVD by retained energy, K-SVD, int8, or removing the compression) and its
 * parameter, written as one `compress` line edit asked of the language server.
 */
import * as vscode from 'vscode';
import { isCompressible } from '../language/layer-shapes';
import type { CompressionSpec, LayerSpec } from '../language/pipeline-model';
import { layerAt } from './graph-model';
import { layerSpectrumRequest } from './lsp-ext';
import type { StudioContext } from './studio-context';

/** Runs the wizard on `doc`; `layerIdArg` and `methodArg` (from another command or a test) skip its questions. */
export async function compressLayerWizard(ctx: StudioContext, doc: vscode.TextDocument, layerIdArg?: unknown, methodArg?: unknown): Promise<void> {
  const asked = doc.version;
  const spec = await ctx.pipelineSpec(doc, 'Compress Layer', { allowErrors: true });
  const layers = spec.blocks.flatMap((b) => b.layers).filter(isCompressible);
  let layerId = typeof layerIdArg === 'string' ? layerIdArg : undefined;
  const editor = vscode.window.activeTextEditor;
  if (!layerId && editor?.document === doc && doc.version === asked) {
    const at = layerAt({ layers }, { line: editor.selection.active.line, character: editor.selection.active.character });
    if (at && layers.some((l) => l.id === at)) layerId = at;
  }
  if (!layerId) {
    const pick = await vscode.window.showQuickPick(
      layers.map((l) => ({ label: l.id, description: `${l.kind} ${l.outputShape.join('x')}`, detail: `${l.params.toLocaleString('en-US')} parameters${l.compression ? ' · compressed' : ''}` })),
      { title: 'Compress which layer?' },
    );
    if (!pick) return;
    layerId = pick.label;
  }
  const layer = layers.find((l) => l.id === layerId);
  if (!layer) throw new Error(`${layerId} is not a dense or conv layer of ${spec.name}.`);
  let method = methodArg as CompressionSpec | undefined;
  if (!method) {
    const chosen = await pickMethod(ctx, doc, layer);
    if (chosen === undefined) return;
    method = chosen === 'remove' ? undefined : chosen;
  }
  await ctx.writeAction(doc, method ? { kind: 'compress', layerId: layer.id, method } : { kind: 'removeCompression', layerId: layer.id });
  ctx.output.appendLine(`[command] compressLayer ${layer.id}: ${method ? JSON.stringify(method) : 'removed'}`);
}

/** Asks for the method and its parameter; undefined when the user dismissed a question. */
async function pickMethod(ctx: StudioContext, doc: vscode.TextDocument, layer: LayerSpec): Promise<CompressionSpec | 'remove' | undefined> {
  let hint = '';
  let suggested: number | undefined;
  try {
    const s = await ctx.studio.request(layerSpectrumRequest, doc, { layerId: layer.id });
    suggested = s.suggestedRank;
    hint = `suggested rank ${s.suggestedRank ?? '?'} from the spectrum, break-even ${s.breakEvenRank}`;
  } catch (e) {
    hint = (e as Error).message;
  }
  const choice = await vscode.window.showQuickPick(
    [
      { label: 'SVD by rank', detail: hint, id: 'rank' },
      { label: 'SVD by retained energy', detail: 'Keep the smallest rank holding this share of the squared singular values.', id: 'energy' },
      { label: 'K-SVD sparse coding', detail: 'A dictionary of atoms and a few nonzeros per column.', id: 'sparse' },
      { label: 'int8', detail: 'Per-channel 8-bit weights in the exported model.', id: 'int8' },
      ...(layer.compression ? [{ label: 'Remove compression', detail: '', id: 'remove' }] : []),
    ],
    { title: `Compress ${layer.id}` },
  );
  if (!choice) return undefined;
  if (choice.id === 'remove') return 'remove';
  if (choice.id === 'int8') return { kind: 'int8' };
  if (choice.id === 'rank') {
    const text = await vscode.window.showInputBox({ title: `SVD rank for ${layer.id}`, value: String(suggested ?? 64), validateInput: (v) => (/^[1-9][0-9]*$/.test(v.trim()) ? undefined : 'A whole number from 1') });
    return text ? { kind: 'svd', criterion: 'rank', rank: Number(text.trim()) } : undefined;
  }
  if (choice.id === 'energy') {
    const text = await vscode.window.showInputBox({ title: `Retained energy for ${layer.id} (%)`, value: '95', validateInput: (v) => (Number(v) > 0 && Number(v) <= 100 ? undefined : 'A percentage in (0, 100]') });
    return text ? { kind: 'svd', criterion: 'energy', fraction: Number(text) / 100 } : undefined;
  }
  const text = await vscode.window.showInputBox({ title: `K-SVD for ${layer.id}: atoms nonzeros`, value: '128 8', validateInput: (v) => (/^\s*[1-9][0-9]*\s+[1-9][0-9]*\s*$/.test(v) ? undefined : 'Two whole numbers: atoms and nonzeros') });
  if (!text) return undefined;
  const [atoms, nonzeros] = text.trim().split(/\s+/).map(Number);
  return { kind: 'sparse', atoms, nonzeros };
}
