/**
 * Reads ONNX Runtime's profile (the Chrome-trace JSON written with `enableProfiling`):
 * per run (`model_run` events) and per layer, the summed kernel time of the nodes the
 * exporter (engine/onnx/export-onnx.ts) named after that layer. Node names are
 * `OPTYPE_OUTPUT` with OUTPUT the layer id or `LAYER/...`, possibly with a `_N` suffix;
 * ONNX Runtime's fusions prefix `fused ` and keep the name, and append `_kernel_time`.
 * Pure: parsing only.
 */

/** Per layer id, the kernel time of each run in ms (runs in order; 0 when the layer ran no kernel). */
export type LayerRunTimes = Map<string, number[]>;

interface TraceEvent {
  cat?: unknown;
  name?: unknown;
  ts?: unknown;
  dur?: unknown;
}

/** The layer id a node name belongs to, among `layerIds` (longest match), or undefined. */
export function layerOfNode(nodeName: string, layerIds: ReadonlySet<string>): string | undefined {
  let n = nodeName.replace(/_kernel_time$/, '').replace(/^fused /, '');
  // ONNX Runtime's NCHWc layout transform (x86 convolutions and pools, on image pipelines)
  // names the node it substitutes after the layer's output tensor: 'trunk.1_nchwc'.
  if (n.endsWith('_nchwc')) {
    const output = n.slice(0, -'_nchwc'.length).split('/')[0];
    if (layerIds.has(output)) return output;
  }
  const us = n.indexOf('_');
  if (us < 0) return undefined;
  n = n.slice(us + 1);
  const slash = n.indexOf('/');
  const head = slash < 0 ? n : n.slice(0, slash);
  if (layerIds.has(head)) return head;
  const unsuffixed = head.replace(/_\d+$/, '');
  if (layerIds.has(unsuffixed)) return unsuffixed;
  return undefined;
}

/**
 * Parses profile JSON text: for every `model_run` event, the summed `dur` of the Node
 * events inside it, per layer. Node events of unknown layers are summed under `other`.
 * Throws an Error naming `source` when the text is not an ONNX Runtime profile.
 */
export function parseOrtProfile(text: string, layerIds: ReadonlySet<string>, source: string): { runs: number; layers: LayerRunTimes; runMs: number[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message}); expected an ONNX Runtime profile`);
  }
  if (!Array.isArray(json)) throw new Error(`${source}: an ONNX Runtime profile is a JSON array of trace events`);
  const events = json as TraceEvent[];
  const runs = events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run' && typeof e.ts === 'number' && typeof e.dur === 'number')
    .map((e) => ({ start: e.ts as number, end: (e.ts as number) + (e.dur as number), durUs: e.dur as number }))
    .sort((a, b) => a.start - b.start);
  const layers: LayerRunTimes = new Map();
  const slot = (id: string): number[] => {
    let xs = layers.get(id);
    if (!xs) layers.set(id, (xs = new Array<number>(runs.length).fill(0)));
    return xs;
  };
  for (const e of events) {
    if (e.cat !== 'Node' || typeof e.name !== 'string' || typeof e.ts !== 'number' || typeof e.dur !== 'number') continue;
    const ts = e.ts;
    // Runs are sorted and disjoint: binary search for the one that holds this event.
    let lo = 0;
    let hi = runs.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid].start <= ts) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at < 0 || ts > runs[at].end) continue;
    slot(layerOfNode(e.name, layerIds) ?? 'other')[at] += e.dur / 1000;
  }
  return { runs: runs.length, layers, runMs: runs.map((r) => r.durUs / 1000) };
}
