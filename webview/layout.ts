/**
 * Turns the view state into the graph the editor draws (nodes, groups, edges) and lays it
 * out with ELK's layered algorithm in a Web Worker. Layouts are cached by the graph's
 * structure, so an `update` that only changes numbers (after Apply) reuses the positions
 * and never waits for ELK.
 */
import ELK, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk-api.js';
import elkWorkerSource from 'elkjs/lib/elk-worker.min.js' with { type: 'text' };
import { FEATURES_NODE_ID, INPUT_NODE_ID, type ViewState } from './protocol';
import { formatRate, formatShape } from './format';

/** Size of a layer node, in CSS pixels at zoom 1 (the node's CSS must fit in it). */
export const LAYER_SIZE = { width: 216, height: 84 };
/** Size of a collapsed block. */
export const COLLAPSED_SIZE = { width: 236, height: 72 };
const INPUT_SIZE = { width: 216, height: 48 };
const GROUP_PADDING = '[top=40,left=14,bottom=14,right=14]';

/** The id of the group node of a block. */
export function groupId(block: string): string {
  return `block:${block}`;
}

/**
 * The direction the graph flows in: down in a tall or square pane (the side of a text
 * editor), right in a wide, short one (a bottom panel), so the long axis of the pipeline
 * follows the long axis of the pane.
 */
export type FlowDirection = 'DOWN' | 'RIGHT';

/** The direction for a pane of `width` x `height` CSS pixels. */
export function directionFor(width: number, height: number): FlowDirection {
  return width > 1.6 * height ? 'RIGHT' : 'DOWN';
}

/** One node of the drawn graph before layout. */
export interface ModelNode {
  id: string;
  kind: 'input' | 'features' | 'layer' | 'group' | 'run';
  /** The group a layer belongs to, when its block is expanded. */
  parent?: string;
  /** Layer id or block name. */
  ref: string;
  width?: number;
  height?: number;
  collapsed?: boolean;
  /** The layers a repeated run stands for, in order (the node's id is the first one's). */
  members?: string[];
}

/** One drawn edge, labelled with its tensor shape (a gate edge with its label and expected rate). */
export interface ModelEdge {
  id: string;
  source: string;
  target: string;
  label: string;
  /** True for a gate edge: the source head's top label decides whether the target head runs. */
  gate?: boolean;
}

/** A gate edge's label: the label that opens it and the `expect` line's rate (`voicing 30%`), or that there is no such line. */
export function gateLabel(gate: NonNullable<ViewState['edges'][number]['gate']>): string {
  return gate.expectedRate !== undefined ? `${gate.label} ${formatRate(gate.expectedRate)}` : `${gate.label} (no expect line)`;
}

/** The drawn graph and the key that identifies its structure. */
export interface GraphModel {
  nodes: ModelNode[];
  edges: ModelEdge[];
  /** Equal keys mean equal node ids, sizes, nesting and edges: the layout can be reused. */
  key: string;
  /** Identifies the pipeline's structure irrespective of collapsing: a change refits the view. */
  structureKey: string;
  direction: FlowDirection;
}

/** A node's box after layout; x and y are relative to the parent group, as React Flow wants. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function featuresSize(state: ViewState): { width: number; height: number } {
  return { width: 216, height: 52 + 16 * Math.min(state.features.steps.length, 8) };
}

/** The items of `items` by `key`, each list in the items' order (linear time, for graphs of thousands of nodes). */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/**
 * A graph that would draw more nodes than this with every block expanded opens with its
 * blocks collapsed (each a node; a click expands one): React Flow's maintainers put the
 * DOM renderer's comfortable limit near 1,000 nodes, and a graph this size no longer fits
 * a screen at a readable scale anyway.
 */
export const LARGE_GRAPH_NODES = 400;

/**
 * The blocks to draw collapsed when a pipeline is opened: those the host marks collapsed
 * (the user's own choice, remembered by the host), and, in a graph larger than
 * {@link LARGE_GRAPH_NODES} nodes after collapsing repeated runs, every block the host
 * leaves unmarked.
 */
export function defaultCollapsed(state: ViewState): Set<string> {
  const large = isLargeGraph(state);
  return new Set(state.blocks.filter((b) => b.collapsed ?? large).map((b) => b.name));
}

/** True when the pipeline draws more than {@link LARGE_GRAPH_NODES} layer nodes with every block expanded. */
export function isLargeGraph(state: ViewState): boolean {
  let drawn = state.layers.length;
  for (const members of repeatedRuns(state.layers).values()) drawn -= members.length - 1;
  return drawn > LARGE_GRAPH_NODES;
}

/** Runs at least this long of identical layers are drawn as one node. */
export const MIN_RUN = 3;

/**
 * Runs of consecutive identical layers in a block ("60 x dense 256 relu"): the same kind,
 * activation, shapes, parameter count and processor, none compressed or diagnosed, at
 * least {@link MIN_RUN} long. Keyed by the first layer's id, valued by every member's id.
 */
export function repeatedRuns(layers: ViewState['layers']): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  const same = (a: ViewState['layers'][number], b: ViewState['layers'][number]): boolean =>
    a.block === b.block && a.kind === b.kind && a.activation === b.activation && a.params === b.params && a.processor === b.processor &&
    formatShape(a.inputShape) === formatShape(b.inputShape) && formatShape(a.outputShape) === formatShape(b.outputShape) &&
    !a.compression && !b.compression && a.diagnostics.length === 0 && b.diagnostics.length === 0;
  let start = 0;
  for (let i = 1; i <= layers.length; i++) {
    if (i < layers.length && same(layers[start], layers[i])) continue;
    if (i - start >= MIN_RUN) runs.set(layers[start].id, layers.slice(start, i).map((l) => l.id));
    start = i;
  }
  return runs;
}

/**
 * Builds the drawn graph: collapsed blocks become one node, repeated runs not in
 * `expandedRuns` become one node, and edges into either are redirected.
 */
export function buildModel(state: ViewState, collapsed: ReadonlySet<string>, direction: FlowDirection = 'DOWN', expandedRuns: ReadonlySet<string> = new Set()): GraphModel {
  const nodes: ModelNode[] = [
    { id: INPUT_NODE_ID, kind: 'input', ref: INPUT_NODE_ID, ...INPUT_SIZE },
    { id: FEATURES_NODE_ID, kind: 'features', ref: FEATURES_NODE_ID, ...featuresSize(state) },
  ];
  const owner = new Map<string, string>();
  for (const b of state.blocks) {
    const isCollapsed = collapsed.has(b.name);
    nodes.push({ id: groupId(b.name), kind: 'group', ref: b.name, collapsed: isCollapsed, ...(isCollapsed ? COLLAPSED_SIZE : {}) });
  }
  const runOf = new Map<string, string>();
  const runs = repeatedRuns(state.layers);
  for (const [first, members] of runs) {
    if (expandedRuns.has(first)) continue;
    for (const m of members) runOf.set(m, first);
  }
  for (const l of state.layers) {
    const run = runOf.get(l.id);
    if (collapsed.has(l.block)) {
      owner.set(l.id, groupId(l.block));
    } else if (run !== undefined) {
      owner.set(l.id, run);
      if (run === l.id) nodes.push({ id: l.id, kind: 'run', parent: groupId(l.block), ref: l.id, members: runs.get(run), ...LAYER_SIZE });
    } else {
      owner.set(l.id, l.id);
      nodes.push({ id: l.id, kind: 'layer', parent: groupId(l.block), ref: l.id, ...LAYER_SIZE });
    }
  }
  const edges: ModelEdge[] = [];
  const seen = new Set<string>();
  for (const e of state.edges) {
    const source = owner.get(e.source) ?? e.source;
    const target = owner.get(e.target) ?? e.target;
    if (source === target) continue;
    const id = `${e.gate ? 'gate:' : ''}${source}->${target}`;
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push(e.gate ? { id, source, target, label: gateLabel(e.gate), gate: true } : { id, source, target, label: formatShape(e.shape) });
  }
  const structureKey = [state.pipeline, direction, state.blocks.map((b) => `${b.name}<${b.from ?? ''}`).join(','), state.layers.map((l) => l.id).join(','), state.features.steps.length].join('|');
  const key = structureKey + '|' + [...collapsed].sort().join(',') + '|' + edges.map((e) => e.id).join(',');
  return { nodes, edges, key, structureKey, direction };
}

const LAYERED: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.spacing.nodeNode': '28',
  'elk.layered.spacing.nodeNodeBetweenLayers': '44',
  // Measured on a 500-layer pipeline: thoroughness 1 with simple placement and
  // polyline routing lays out in about a fifth of the default's time; React Flow
  // draws its own edges, so ELK's routes are not used anyway.
  'elk.layered.thoroughness': '1',
  'elk.layered.nodePlacement.strategy': 'SIMPLE',
  'elk.edgeRouting': 'POLYLINE',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
};

const LAYER_GAP = 28;
const ROW_GAP = 56;
const PAD = { top: 40, side: 14, bottom: 14 };

/**
 * Groups whose layers form one chain in order (every block the language accepts today:
 * a block is a sequence of layers) are stacked directly, without ELK: ELK's layered
 * algorithm spends most of its time on long chains (measured: 500 layers in chains
 * took 1.6 s in the worker, the top-level graph alone a few ms). Returns each stacked
 * group's size and its children's boxes; groups with any other edge pattern are absent
 * and go to ELK.
 */
export function stackChains(model: GraphModel): Map<string, { width: number; height: number; children: Map<string, Box> }> {
  const kids = groupBy(model.nodes.filter((n) => n.parent), (n) => n.parent!);
  const parentOf = new Map<string, string>();
  const position = new Map<string, number>();
  for (const children of kids.values()) children.forEach((c, i) => position.set(c.id, i));
  for (const n of model.nodes) if (n.parent) parentOf.set(n.id, n.parent);
  const inner = groupBy(model.edges.filter((e) => parentOf.has(e.source) && parentOf.get(e.source) === parentOf.get(e.target)), (e) => parentOf.get(e.source)!);
  const out = new Map<string, { width: number; height: number; children: Map<string, Box> }>();
  for (const [group, children] of kids) {
    const edges = inner.get(group) ?? [];
    const isChain = edges.length === children.length - 1 && edges.every((e) => position.get(e.target) === position.get(e.source)! + 1);
    if (!isChain) continue;
    const boxes = new Map<string, Box>();
    if (model.direction === 'RIGHT') {
      // A row under the group's title bar, left to right; wider gaps, as a shape label lies across each.
      let x = PAD.side;
      let height = 0;
      for (const c of children) {
        boxes.set(c.id, { x, y: PAD.top, width: c.width!, height: c.height! });
        x += c.width! + ROW_GAP;
        height = Math.max(height, c.height!);
      }
      out.set(group, { width: x - ROW_GAP + PAD.side, height: PAD.top + height + PAD.bottom, children: boxes });
      continue;
    }
    let y = PAD.top;
    let width = 0;
    for (const c of children) {
      boxes.set(c.id, { x: PAD.side, y, width: c.width!, height: c.height! });
      y += c.height! + LAYER_GAP;
      width = Math.max(width, c.width!);
    }
    out.set(group, { width: width + 2 * PAD.side, height: y - LAYER_GAP + PAD.bottom, children: boxes });
  }
  return out;
}

/** The ELK graph of a model: stacked groups are fixed-size leaves, other groups are laid out on their own (SEPARATE_CHILDREN), then the top level. */
export function elkGraph(model: GraphModel, stacked: ReturnType<typeof stackChains> = new Map()): ElkNode {
  const byId = new Map<string, ElkNode>();
  const layered = { ...LAYERED, 'elk.direction': model.direction };
  const root: ElkNode = { id: '__root', layoutOptions: { ...layered, 'elk.padding': '[top=20,left=20,bottom=20,right=20]' }, children: [], edges: [] };
  for (const n of model.nodes) {
    const node: ElkNode = { id: n.id };
    const stack = stacked.get(n.id);
    if (stack) {
      node.width = stack.width;
      node.height = stack.height;
    } else if (n.kind === 'group' && !n.collapsed) {
      node.children = [];
      node.edges = [];
      node.layoutOptions = { ...layered, 'elk.padding': GROUP_PADDING, 'elk.nodeSize.minimum': '(236,72)', 'elk.nodeSize.constraints': 'MINIMUM_SIZE' };
    } else {
      node.width = n.width;
      node.height = n.height;
    }
    byId.set(n.id, node);
  }
  const parentOf = new Map<string, string>();
  for (const n of model.nodes) {
    if (n.parent) parentOf.set(n.id, n.parent);
    if (n.parent && stacked.has(n.parent)) continue;
    const node = byId.get(n.id)!;
    if (n.parent) byId.get(n.parent)!.children!.push(node);
    else root.children!.push(node);
  }
  const rootEdges = new Set<string>();
  for (const e of model.edges) {
    const ps = parentOf.get(e.source);
    const pt = parentOf.get(e.target);
    if (ps && ps === pt) {
      if (!stacked.has(ps)) byId.get(ps)!.edges!.push({ id: e.id, sources: [e.source], targets: [e.target] });
      continue;
    }
    // Cross-group edges are laid out between the top-level nodes that contain their ends.
    const s = ps ?? e.source;
    const t = pt ?? e.target;
    const id = `${s}=>${t}`;
    if (s === t || rootEdges.has(id)) continue;
    rootEdges.add(id);
    root.edges!.push({ id, sources: [s], targets: [t] } satisfies ElkExtendedEdge);
  }
  return root;
}

/** Reads the boxes out of a laid-out ELK graph (positions relative to each node's parent). */
export function boxesOf(laidOut: ElkNode): Map<string, Box> {
  const boxes = new Map<string, Box>();
  const visit = (n: ElkNode): void => {
    for (const c of n.children ?? []) {
      boxes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0 });
      visit(c);
    }
  };
  visit(laidOut);
  return boxes;
}

/**
 * A layout without ELK, used when the worker cannot start (a CSP without `worker-src
 * blob:`) or ELK fails: blocks side by side in source order, layers stacked inside.
 */
export function fallbackLayout(model: GraphModel): Map<string, Box> {
  const boxes = new Map<string, Box>();
  let y = 20;
  for (const n of model.nodes.filter((m) => m.kind === 'input' || m.kind === 'features')) {
    boxes.set(n.id, { x: 20, y, width: n.width!, height: n.height! });
    y += n.height! + 40;
  }
  const groups = model.nodes.filter((m) => m.kind === 'group');
  const children = groupBy(model.nodes.filter((n) => n.parent), (n) => n.parent!);
  let x = 20;
  for (const g of groups) {
    const kids = children.get(g.id) ?? [];
    let cy = 40;
    for (const k of kids) {
      boxes.set(k.id, { x: 14, y: cy, width: k.width!, height: k.height! });
      cy += k.height! + 28;
    }
    const box = g.collapsed ? { x, y, ...COLLAPSED_SIZE } : { x, y, width: LAYER_SIZE.width + 28, height: Math.max(72, cy - 14) };
    boxes.set(g.id, box);
    x += box.width + 40;
  }
  return boxes;
}

/** Lays out models with ELK in a worker, caching by {@link GraphModel.key}. */
export class Layouter {
  private elk: InstanceType<typeof ELK> | undefined;
  private readonly cache = new Map<string, Map<string, Box>>();
  /** Why the last layout fell back, if it did. */
  fallbackReason: string | undefined;

  constructor() {
    try {
      const url = URL.createObjectURL(new Blob([elkWorkerSource], { type: 'text/javascript' }));
      this.elk = new ELK({ workerFactory: () => new Worker(url, { name: 'elk-layout' }) });
      // Warm the worker's JIT with a tiny graph while the first state is on its way.
      void this.elk.layout({ id: 'warm', layoutOptions: LAYERED, children: [{ id: 'a', width: 10, height: 10 }, { id: 'b', width: 10, height: 10 }], edges: [{ id: 'e', sources: ['a'], targets: ['b'] }] }).catch(() => undefined);
    } catch (e) {
      this.fallbackReason = `the layout worker could not start (${e instanceof Error ? e.message : String(e)})`;
    }
  }

  /** The cached layout of a model, if its structure was laid out before. */
  cached(model: GraphModel): Map<string, Box> | undefined {
    return this.cache.get(model.key);
  }

  /** Lays out a model (from the cache when possible). */
  async layout(model: GraphModel): Promise<Map<string, Box>> {
    const hit = this.cache.get(model.key);
    if (hit) return hit;
    let boxes: Map<string, Box>;
    const started = performance.now();
    if (this.elk) {
      try {
        const stacked = stackChains(model);
        boxes = boxesOf(await this.elk.layout(elkGraph(model, stacked)));
        for (const stack of stacked.values()) for (const [id, box] of stack.children) boxes.set(id, box);
        this.fallbackReason = undefined;
      } catch (e) {
        this.fallbackReason = `ELK failed (${e instanceof Error ? e.message.slice(0, 200) : String(e)})`;
        boxes = fallbackLayout(model);
      }
    } else boxes = fallbackLayout(model);
    // Visible in the browser's performance timeline (and read by the benchmark).
    performance.measure('sense-layout', { start: started, end: performance.now() });
    if (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(model.key, boxes);
    return boxes;
  }
}
