/**
 * Test helpers for export: inline pipelines, random weights, and an independent numpy
 * forward pass (Debian's python3-numpy/-scipy/-onnx) that reads the safetensors file with
 * its own parser and the layer list as JSON, never our TypeScript.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { expectedWeights, type WeightSet } from '../../../engine/weights/weights';
import { mulberry32 } from '../../../engine/compress/random';
import type { OrtModuleLike } from '../../../runtime/runner';

const services = createSenseServices();
let counter = 0;

/** Lowers inline `.sense` text; throws listing any error diagnostic. */
export async function specOf(text: string): Promise<PipelineSpec> {
  const doc = await buildDocument(services, text, `file:///export-test-${counter++}.sense`);
  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
  if (errors.length > 0) throw new Error(`test pipeline has errors:\n${errors.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('\n')}`);
  const spec = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()].map((p) => p.spec).find((s) => !!s);
  if (!spec) throw new Error('no pipeline in test text');
  return spec;
}

/** Random weights of the right shapes: every tensor non-trivial (biases, batchnorm stats too), variances and std positive. */
export function randomWeights(spec: PipelineSpec, seed = 7): WeightSet {
  const rng = mulberry32(seed);
  const out: WeightSet = new Map();
  for (const e of expectedWeights(spec)) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const fanIn = e.shape.length >= 2 ? n / e.shape[0] : 1;
    for (let i = 0; i < n; i++) {
      const u = 2 * rng() - 1;
      if (e.role === 'var' || e.role === 'std') data[i] = 0.5 + rng();
      else if (e.role === 'scale') data[i] = 0.5 + rng();
      else if (e.role === 'weight' || e.role === 'W' || e.role === 'R') data[i] = (u * 1.7) / Math.sqrt(fanIn);
      else data[i] = 0.3 * u;
    }
    out.set(e.name, { shape: e.shape, data });
  }
  return out;
}

/** A fresh temporary folder. */
export function tempDir(prefix = 'sense-export-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** onnxruntime-node, loaded once per test file. */
export async function ortNode(): Promise<OrtModuleLike> {
  const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  return mod.InferenceSession ? mod : mod.default!;
}

/** The layer list the numpy reference needs: kinds and hyper-parameters, blocks with `from`. */
export function referenceLayers(spec: PipelineSpec): unknown {
  return spec.blocks.map((b) => ({
    name: b.name,
    kind: b.kind,
    from: b.from ?? null,
    layers: b.layers.map((l) => ({
      id: l.id,
      kind: l.kind,
      units: l.units ?? null,
      filters: l.filters ?? null,
      kernel: l.kernel ?? null,
      poolSize: l.poolSize ?? null,
      stride: l.stride ?? null,
      padding: l.padding ?? 'valid',
      global: !!l.global,
      sequences: !!l.sequences,
      activation: l.activation ?? null,
      compression: l.compression ?? null,
      inputShape: l.inputShape,
    })),
  }));
}

/**
 * numpy forward pass. Input JSON: { weights: path of a safetensors file, blocks (see
 * referenceLayers), x: nested list [N, ...features shape], models: [onnx paths] (checked
 * with onnx.checker, and read for the K-SVD factors of sparse layers) }. Prints
 * { heads: {name: nested list}, relErrors: {layerId: float} }.
 */
export const NUMPY_FORWARD = String.raw`
import json, sys, struct, math
import numpy as np
import onnx
from onnx import numpy_helper
from scipy.special import erf

cfg = json.load(sys.stdin)

def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    data = b[8 + n:]
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        assert v['dtype'] == 'F32', v['dtype']
        s, e = v['data_offsets']
        out[k] = np.frombuffer(data[s:e], dtype='<f4').reshape(v['shape']).astype(np.float64)
    return out

W = read_safetensors(cfg['weights'])
inits = {}
for p in cfg['models']:
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
    assert m.ir_version == 8 and m.opset_import[0].version == 17
    for t in m.graph.initializer:
        inits[t.name] = numpy_helper.to_array(t).astype(np.float64) if t.data_type == 1 else numpy_helper.to_array(t)

rel = {}

def pads_for(L, k, s, padding):
    if padding != 'same':
        return 0, 0
    out = -(-L // s)
    total = max(0, (out - 1) * s + k - L)
    return total // 2, total - total // 2

def act(x, a):
    if a is None or a == 'linear': return x
    if a == 'relu': return np.maximum(x, 0)
    if a == 'sigmoid': return 1 / (1 + np.exp(-x))
    if a == 'tanh': return np.tanh(x)
    if a == 'softmax':
        e = np.exp(x - x.max(axis=-1, keepdims=True)); return e / e.sum(axis=-1, keepdims=True)
    if a == 'gelu': return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    if a == 'elu': return np.where(x > 0, x, np.exp(x) - 1)
    if a == 'leakyrelu': return np.where(x > 0, x, 0.01 * x)
    raise ValueError(a)

def matrix_for(l, Wm):
    # Returns the matrix (out x in) the compressed layer effectively uses.
    c = l['compression']
    if c is None: return Wm
    if c['kind'] == 'svd':
        U, S, Vt = np.linalg.svd(Wm, full_matrices=False)
        if c['criterion'] == 'rank': k = c['rank']
        else:
            e = np.cumsum(S ** 2) / np.sum(S ** 2)
            k = int(np.searchsorted(e, c['fraction'] * (1 - 1e-12)) + 1) if c['criterion'] == 'energy' else None
        A = (U[:, :k] * S[:k]) @ Vt[:k]
    elif c['kind'] == 'int8':
        W32 = Wm.astype(np.float32)
        scale = (np.abs(W32).max(axis=1) / np.float32(127)).astype(np.float32)
        scale[scale == 0] = 1
        q = np.clip(np.rint(W32 / scale[:, None]), -127, 127)
        A = q.astype(np.float64) * scale[:, None].astype(np.float64)
    else:
        i = l['id']
        idx = inits[i + '.ksvd_index']; val = inits[i + '.ksvd_value'].reshape(idx.shape)
        D = inits[i + '.ksvd_dict_t'].T if (i + '.ksvd_dict_t') in inits else inits[i + '.ksvd_dict'].reshape(inits[i + '.ksvd_dict'].shape[0], -1)
        C = np.zeros((idx.shape[0], D.shape[0]))
        for r in range(idx.shape[0]):
            for s in range(idx.shape[1]):
                C[r, idx[r, s]] += val[r, s]
        A = C @ D
    rel[l['id']] = float(np.linalg.norm(Wm - A) / np.linalg.norm(Wm))
    return A

def conv(x, w, b, stride, padding):
    nd = w.ndim - 2
    pads = [pads_for(x.shape[2 + d], w.shape[2 + d], stride, padding) for d in range(nd)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=tuple(range(2, 2 + nd)))
    sl = (slice(None), slice(None)) + tuple(slice(None, None, stride) for _ in range(nd))
    win = win[sl]
    if nd == 1: y = np.einsum('nctk,fck->nft', win, w)
    else: y = np.einsum('nchwij,fcij->nfhw', win, w)
    return y + b.reshape((1, -1) + (1,) * nd)

def pool(x, l):
    nd = x.ndim - 2
    if l['global']:
        ax = tuple(range(2, x.ndim))
        return x.max(axis=ax) if l['kind'] == 'maxpool' else x.mean(axis=ax)
    size = l['poolSize']
    k = [size[0]] if nd == 1 else [size[0], size[1] if len(size) > 1 else size[0]]
    s = l['stride'] or k[0]
    pads = [pads_for(x.shape[2 + d], k[d], s, l['padding']) for d in range(nd)]
    fill = -np.inf if l['kind'] == 'maxpool' else 0.0
    xp = np.pad(x, [(0, 0), (0, 0)] + pads, constant_values=fill)
    ones = np.pad(np.ones(x.shape[2:]), pads)
    win = np.lib.stride_tricks.sliding_window_view(xp, k, axis=tuple(range(2, 2 + nd)))
    cnt = np.lib.stride_tricks.sliding_window_view(ones, k)
    sl = tuple(slice(None, None, s) for _ in range(nd))
    win = win[(slice(None), slice(None)) + sl]; cnt = cnt[sl]
    ax = tuple(range(-nd, 0))
    if l['kind'] == 'maxpool': return win.max(axis=ax)
    return win.sum(axis=ax) / cnt.sum(axis=ax)

def sig(x): return 1 / (1 + np.exp(-x))

def recurrent(x, l):
    i = l['id']; Wt = W[i + '.W'][0]; R = W[i + '.R'][0]; B = W[i + '.B'][0]; H = l['units']
    N, F, T = x.shape
    h = np.zeros((N, H)); c = np.zeros((N, H)); ys = []
    g = 3 if l['kind'] == 'gru' else 4
    Wb, Rb = B[:g * H], B[g * H:]
    for t in range(T):
        xt = x[:, :, t]
        if l['kind'] == 'gru':
            xw = xt @ Wt.T + Wb; hr = h @ R.T + Rb
            z = sig(xw[:, :H] + hr[:, :H]); r = sig(xw[:, H:2*H] + hr[:, H:2*H])
            n = np.tanh(xw[:, 2*H:] + r * hr[:, 2*H:])
            h = (1 - z) * n + z * h
        else:
            a = xt @ Wt.T + h @ R.T + Wb + Rb
            ig = sig(a[:, :H]); og = sig(a[:, H:2*H]); fg = sig(a[:, 2*H:3*H]); cc = np.tanh(a[:, 3*H:])
            c = fg * c + ig * cc; h = og * np.tanh(c)
        ys.append(h)
    return np.stack(ys, axis=2) if l['sequences'] else h

def layer(x, l):
    k = l['kind']; i = l['id']
    if k == 'dense':
        A = matrix_for(l, W[i + '.weight'])
        return act(x @ A.T + W[i + '.bias'], l['activation'])
    if k in ('conv1d', 'conv2d'):
        w = W[i + '.weight']
        A = matrix_for(l, w.reshape(w.shape[0], -1)).reshape(w.shape)
        return act(conv(x, A, W[i + '.bias'], l['stride'] or 1, l['padding']), l['activation'])
    if k in ('maxpool', 'avgpool'): return pool(x, l)
    if k == 'batchnorm':
        sh = (1, -1) + (1,) * (x.ndim - 2)
        return (x - W[i + '.mean'].reshape(sh)) / np.sqrt(W[i + '.var'].reshape(sh) + 1e-5) * W[i + '.scale'].reshape(sh) + W[i + '.bias'].reshape(sh)
    if k == 'dropout': return x
    if k == 'flatten': return x.reshape(x.shape[0], -1)
    if k in ('gru', 'lstm'): return act(recurrent(x, l), l['activation'])
    if k == 'activation': return act(x, l['activation'])
    raise ValueError(k)

x = np.array(cfg['x'], dtype=np.float64)
outs = {}
heads = {}
for b in cfg['blocks']:
    h = outs[b['from']] if b['from'] else x
    for l in b['layers']:
        h = layer(h, l)
    outs[b['name']] = h
    if b['kind'] == 'head':
        heads[b['name']] = h.tolist()
print(json.dumps({'heads': heads, 'relErrors': rel}))
`;

/** Nested list of a row-major array of `shape`. */
export function nested(data: ArrayLike<number>, shape: number[]): unknown {
  if (shape.length === 0) return data[0];
  if (shape.length === 1) return Array.from(data);
  const step = data.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nested(Array.prototype.slice.call(data, i * step, (i + 1) * step), shape.slice(1)));
}

/** Flattens a nested list. */
export function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}

/** Largest absolute difference between two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
