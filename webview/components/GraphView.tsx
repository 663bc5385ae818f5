/**
 * The graph: React Flow over the laid-out model. Selection is controlled by the app;
 * the viewport is kept across updates and reset only when the pipeline's structure
 * changes. The default view never shrinks node text below {@link READABLE_PX} on screen:
 * a graph larger than the pane is shown from its input at a readable scale and scrolled
 * (the wheel pans; pinch or Ctrl+wheel zooms). The layout flows down in a tall pane and
 * right in a wide one. Zoom controls sit in a strip above the canvas and the minimap in
 * a rail beside it, so neither covers a node. Keyboard: arrows move the selection to the nearest node in that direction,
 * Enter reveals it in the text, Space collapses or expands its block, Escape clears.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { Background, MiniMap, Position, ReactFlow, useReactFlow, useStore, type Edge, type NodeHandle } from '@xyflow/react';
import type { ViewState } from '../protocol';
import { FEATURES_NODE_ID, INPUT_NODE_ID } from '../protocol';
import { buildModel, directionFor, groupBy, groupId, LARGE_GRAPH_NODES, type Box, type FlowDirection, type GraphModel, type Layouter } from '../layout';
import { DetailContext, FlowDirectionContext, nodeTypes, type StudioNode } from './nodes';
import { formatCountShort, formatMs } from '../../language/figures';
import { formatRate, formatShape } from '../format';

/** Props of {@link GraphView}. */
export interface GraphViewProps {
  view: ViewState;
  collapsed: ReadonlySet<string>;
  selected: string | null;
  layouter: Layouter;
  /** A node was chosen; `reveal` is true for a click or Enter (show it in the text). */
  onSelect: (id: string | null, reveal: boolean) => void;
  onToggle: (block: string) => void;
  /** Reports a layout problem (the fallback layout was used). */
  onLayoutProblem: (reason: string) => void;
}

/** The smallest text, in CSS pixels on screen, that the default view may draw in a node. */
export const READABLE_PX = 11;
/** Graph areas at least this wide show the minimap (in a 160 px rail) unless the user hid it. */
const MINIMAP_MIN_PANE_PX = 1100;
const VIEW_PAD_PX = 24;
/** The farthest one can zoom out. */
const MIN_ZOOM = 0.02;
/**
 * Graphs of more nodes than this draw only those in view (React Flow's
 * `onlyRenderVisibleElements`); smaller ones draw all, so nothing appears while panning.
 */
const VISIBLE_ONLY_NODES = LARGE_GRAPH_NODES / 2;
/**
 * The performance mark set when a pipeline's graph is first painted at its default view,
 * with `detail: { pipeline, nodes }` (the drawn node count).
 */
export const GRAPH_PAINTED_MARK = 'sense-graph-painted';
/**
 * Below this zoom nodes are drawn simplified (kind and colour, no figures) and edges
 * without their shape labels: 12 px text would be under 6 px on screen, unreadable, and
 * a zoomed-out view of a large graph shows thousands of nodes.
 */
export const LOW_DETAIL_ZOOM = 0.5;

/** The smallest font size used in the rendered nodes and edge labels (CSS pixels at zoom 1). */
function smallestFontPx(root: HTMLElement | null): number {
  let min = Infinity;
  if (!root) return READABLE_PX;
  // Node kinds repeat; the first few dozen nodes hold every kind of text there is.
  const nodes = [...root.querySelectorAll('.react-flow__node')].slice(0, 40);
  for (const el of [...nodes.flatMap((n) => [...n.querySelectorAll('*')]), ...root.querySelectorAll('.react-flow__edge-text')]) {
    const hasText = [...el.childNodes].some((c) => c.nodeType === Node.TEXT_NODE && c.textContent?.trim());
    if (!hasText) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size > 0) min = Math.min(min, size);
  }
  return Number.isFinite(min) ? min : READABLE_PX;
}

/**
 * Where a graph extent of `length` starting at `start` goes along one axis of a pane of
 * `paneLength`: centred when it fits; otherwise from its start (the flow axis) or
 * centred on `anchor` (the cross axis) without leaving empty pane beyond either end.
 */
function placeAlong(paneLength: number, start: number, length: number, anchor: number, fromStart: boolean, zoom: number): number {
  if (length * zoom <= paneLength - 2 * VIEW_PAD_PX) return (paneLength - length * zoom) / 2 - start * zoom;
  const first = VIEW_PAD_PX - start * zoom;
  if (fromStart) return first;
  const last = paneLength - VIEW_PAD_PX - (start + length) * zoom;
  return Math.min(first, Math.max(last, paneLength / 2 - anchor * zoom));
}

/** Zoom out, the zoom level, zoom in, the readable default view, the whole graph, the minimap. */
function GraphTools({ onReset, onShowAll, minimap, onMinimap }: { onReset: () => void; onShowAll: () => void; minimap: boolean; onMinimap: () => void }) {
  const flow = useReactFlow();
  const zoom = useStore((s) => s.transform[2]);
  return (
    <div className="sense-graph-tools" role="toolbar" aria-label="Graph view">
      <button type="button" className="sense-icon-button" aria-label="Zoom out" title="Zoom out (Ctrl+wheel or pinch)" onClick={() => void flow.zoomOut({ duration: 120 })}>
        <i className="codicon codicon-zoom-out" aria-hidden="true" />
      </button>
      <span className="sense-zoom" data-testid="zoom-level" aria-live="polite">{Math.round(zoom * 100)}%</span>
      <button type="button" className="sense-icon-button" aria-label="Zoom in" title="Zoom in" onClick={() => void flow.zoomIn({ duration: 120 })}>
        <i className="codicon codicon-zoom-in" aria-hidden="true" />
      </button>
      <button type="button" className="sense-icon-button" aria-label="Readable view" title="Readable size, from the input" onClick={onReset}>
        <i className="codicon codicon-home" aria-hidden="true" />
      </button>
      <button type="button" className="sense-icon-button" aria-label="Show the whole graph" title="Show the whole graph (text may be small)" onClick={onShowAll}>
        <i className="codicon codicon-screen-full" aria-hidden="true" />
      </button>
      <button type="button" className={`sense-icon-button${minimap ? ' is-on' : ''}`} aria-label={minimap ? 'Hide the minimap' : 'Show the minimap'} aria-pressed={minimap} title="Minimap" onClick={onMinimap}>
        <i className="codicon codicon-map" aria-hidden="true" />
      </button>
      <span className="sense-muted sense-graph-hint">Wheel scrolls · Ctrl+wheel zooms</span>
    </div>
  );
}

/** Side of a handle in CSS pixels (styles.css `.react-flow__handle`). */
const HANDLE_PX = 6;

/**
 * Where a node's handles are, as nodes.tsx draws them (centred on the edges the flow
 * enters and leaves by). Given to React Flow up front, they let it draw only the nodes in
 * view from the first frame: without them it renders every node once to measure its
 * handles, which for 10,000 layers costs seconds.
 */
function handlesOf(box: Box, direction: FlowDirection, target: boolean): NodeHandle[] {
  const half = HANDLE_PX / 2;
  const right = direction === 'RIGHT';
  const at = (position: Position, x: number, y: number, type: 'source' | 'target'): NodeHandle => ({ type, position, x: x - half, y: y - half, width: HANDLE_PX, height: HANDLE_PX });
  const source = right ? at(Position.Right, box.width, box.height / 2, 'source') : at(Position.Bottom, box.width / 2, box.height, 'source');
  if (!target) return [source];
  return [source, right ? at(Position.Left, 0, box.height / 2, 'target') : at(Position.Top, box.width / 2, 0, 'target')];
}

/**
 * React Flow's settings that never change: a read-only view (the text is the model, so
 * nothing is dragged or connected; the app's own keyboard handling replaces React Flow's),
 * the wheel scrolls and pinch or Ctrl+wheel zooms.
 */
const FLOW_SETTINGS = {
  nodeTypes,
  nodesDraggable: false,
  nodesConnectable: false,
  nodesFocusable: false,
  edgesFocusable: false,
  elementsSelectable: true,
  disableKeyboardA11y: true,
  minZoom: MIN_ZOOM,
  maxZoom: 2.5,
  panOnScroll: true,
  zoomOnScroll: false,
  proOptions: { hideAttribution: true },
} as const;

interface Rendered {
  model: GraphModel;
  boxes: Map<string, Box>;
}

/** Describes a node for screen readers. */
function describe(view: ViewState, id: string, layers?: ReadonlyMap<string, ViewState['layers'][number]>): string {
  if (id === INPUT_NODE_ID) return `Input: ${view.features.input}`;
  if (id === FEATURES_NODE_ID) return `Features: ${view.features.steps.join(', ')}; output ${formatShape(view.features.outputShape)}`;
  if (id.startsWith('block:')) {
    const name = id.slice(6);
    const b = view.blocks.find((x) => x.name === name);
    const gate = b?.gate ? `, runs when ${b.gate.head} is ${b.gate.label}, on ${formatRate(b.firingProbability ?? 1)} of windows` : '';
    return `${b?.kind === 'head' ? 'Head' : 'Shared block'} ${name}${gate}`;
  }
  const l = layers ? layers.get(id) : view.layers.find((x) => x.id === id);
  if (!l) return id;
  const diag = l.diagnostics.length ? `; ${l.diagnostics.length} diagnostics: ${l.diagnostics.map((d) => d.message).join('; ')}` : '';
  return `Layer ${l.id}: ${l.kind}${l.activation ? ' ' + l.activation : ''}, output ${formatShape(l.outputShape)}, ${formatCountShort(l.params)} parameters, ${formatCountShort(l.macs)} MACs, on ${l.processor}, ${formatMs(l.latencyMs)}${diag}`;
}

/** The graph editor canvas. */
export function GraphView({ view, collapsed, selected, layouter, onSelect, onToggle, onLayoutProblem }: GraphViewProps) {
  const flow = useReactFlow();
  const canvas = useRef<HTMLDivElement>(null);
  const wrapper = useRef<HTMLDivElement>(null);
  // The whole graph area, not the canvas: the canvas narrows when the minimap's rail opens.
  const [pane, setPane] = useState<{ width: number; height: number } | undefined>(undefined);
  const [minimapChoice, setMinimapChoice] = useState<boolean | undefined>(undefined);
  const [expandedRuns, setExpandedRuns] = useState<ReadonlySet<string>>(new Set());
  const expandRun = useCallback((id: string) => setExpandedRuns((r) => new Set([...r, id])), []);
  useLayoutEffect(() => {
    const el = wrapper.current;
    if (!el) return;
    const measure = (): void => {
      const r = el.getBoundingClientRect();
      setPane((p) => (p && p.width === r.width && p.height === r.height ? p : { width: r.width, height: r.height }));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const direction = pane ? directionFor(pane.width, pane.height) : 'DOWN';
  const minimap = minimapChoice ?? (pane ? pane.width >= MINIMAP_MIN_PANE_PX : false);
  const model = useMemo(() => buildModel(view, collapsed, direction, expandedRuns), [view, collapsed, direction, expandedRuns]);
  const [rendered, setRendered] = useState<Rendered | undefined>(() => {
    const boxes = layouter.cached(model);
    return boxes ? { model, boxes } : undefined;
  });
  const [laying, setLaying] = useState(false);
  const fittedStructure = useRef<string | undefined>(undefined);

  // Same structure: reuse the cached layout synchronously, so numbers update in one render.
  const current = rendered && rendered.model.key === model.key ? rendered : (() => {
    const boxes = layouter.cached(model);
    return boxes ? { model, boxes } : rendered;
  })();

  useEffect(() => {
    // Until the pane is measured the direction is unknown; a layout now would be thrown away.
    if (!pane) return;
    if (layouter.cached(model)) {
      if (rendered?.model.key !== model.key) setRendered({ model, boxes: layouter.cached(model)! });
      return;
    }
    let cancelled = false;
    setLaying(true);
    void layouter.layout(model).then((boxes) => {
      if (cancelled) return;
      setLaying(false);
      setRendered({ model, boxes });
      if (layouter.fallbackReason) onLayoutProblem(`Layout: ${layouter.fallbackReason}; showing a simple layout.`);
    });
    return () => {
      cancelled = true;
    };
  }, [model.key, pane === undefined]);

  const layers = useMemo(() => new Map(view.layers.map((l) => [l.id, l])), [view.layers]);
  const colorOf = useMemo(() => new Map(view.target.processors.map((p) => [p.name, p.colorIndex])), [view.target.processors]);

  const nodes = useMemo<StudioNode[]>(() => {
    if (!current) return [];
    const out: StudioNode[] = [];
    const byBlock = groupBy(view.layers, (l) => l.block);
    for (const n of current.model.nodes) {
      const box = current.boxes.get(n.id);
      if (!box) continue;
      const common = { id: n.id, position: { x: box.x, y: box.y }, width: box.width, height: box.height, handles: handlesOf(box, current.model.direction, n.kind !== 'input'), draggable: false, connectable: false, selected: n.id === selected, ariaLabel: describe(view, n.id, layers) };
      if (n.kind === 'layer') {
        const layer = layers.get(n.ref);
        if (!layer) continue;
        out.push({ ...common, type: 'layer', parentId: n.parent, data: { layer, colorIndex: colorOf.get(layer.processor) ?? 0 } });
      } else if (n.kind === 'run') {
        const members = (n.members ?? []).map((id) => layers.get(id)).filter((l): l is ViewState['layers'][number] => !!l);
        if (!members.length) continue;
        const ariaLabel = `${members.length} identical layers, ${members[0].id} to ${members[members.length - 1].id}: ${describe(view, members[0].id, layers).replace(/^Layer \S+: /, '')} each; Enter shows each`;
        out.push({ ...common, ariaLabel, type: 'run', parentId: n.parent, data: { layers: members, colorIndex: colorOf.get(members[0].processor) ?? 0 } });
      } else if (n.kind === 'group') {
        const block = view.blocks.find((b) => b.name === n.ref);
        if (!block) continue;
        const mine = byBlock.get(block.name) ?? [];
        const procs = new Set(mine.map((l) => l.processor));
        out.push({
          ...common,
          type: 'group',
          zIndex: -1,
          data: {
            block,
            collapsed: !!n.collapsed,
            layerCount: mine.length,
            params: mine.reduce((a, l) => a + l.params, 0),
            latencyMs: mine.reduce((a, l) => a + l.latencyMs, 0),
            colorIndex: procs.size === 1 ? colorOf.get([...procs][0]) : undefined,
            onToggle,
          },
        });
      } else if (n.kind === 'features') {
        out.push({ ...common, type: 'features', data: { features: view.features, colorIndex: view.features.processor ? colorOf.get(view.features.processor) : undefined } });
      } else {
        out.push({ ...common, type: 'input', selectable: false, data: { text: view.features.input } });
      }
    }
    return out;
  }, [current, view, layers, colorOf, selected, onToggle]);

  const lowDetail = useStore((s) => s.transform[2] < LOW_DETAIL_ZOOM);
  // React Flow takes new nodes into its store after the render that passes them, so for
  // that render it still holds the previous graph's: drawing all of them because the new
  // graph is small would put a previous graph of 10,000 nodes in the DOM.
  const storedNodes = useStore((s) => s.nodeLookup.size);
  const edges = useMemo<Edge[]>(() => {
    if (!current) return [];
    const present = new Set(nodes.map((n) => n.id));
    return current.model.edges
      .filter((e) => present.has(e.source) && present.has(e.target))
      .map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        label: lowDetail ? undefined : e.label,
        className: e.gate ? 'sense-edge sense-gate-edge' : 'sense-edge',
        labelBgPadding: [4, 2] as [number, number],
        labelBgBorderRadius: 3,
        ariaLabel: e.gate ? `gate ${e.label}: ${e.target} runs when ${e.source} decides ${e.label.split(' ')[0]}` : `tensor ${e.label} from ${e.source} to ${e.target}`,
        focusable: false,
        selectable: false,
      }));
  }, [current, nodes, lowDetail]);

  /**
   * The default view: the whole graph when it fits at a readable scale, otherwise the
   * readable scale from the input (the start of the flow), centred across the flow on it.
   */
  const resetView = useCallback(
    (readable = true) => {
      const el = canvas.current;
      if (!current || !el) return;
      const width = el.clientWidth;
      const height = el.clientHeight;
      // From the layout's boxes, not React Flow's measurements: a large graph draws (and so
      // measures) only the nodes in view.
      const top = current.model.nodes.filter((n) => !n.parent).map((n) => current.boxes.get(n.id)).filter((b): b is Box => !!b);
      if (!top.length || width === 0 || height === 0) return;
      const x0 = Math.min(...top.map((b) => b.x));
      const y0 = Math.min(...top.map((b) => b.y));
      const x1 = Math.max(...top.map((b) => b.x + b.width));
      const y1 = Math.max(...top.map((b) => b.y + b.height));
      const fit = Math.max(MIN_ZOOM, Math.min((width - 2 * VIEW_PAD_PX) / (x1 - x0), (height - 2 * VIEW_PAD_PX) / (y1 - y0), 1.1));
      const zoom = readable ? Math.max(fit, READABLE_PX / smallestFontPx(el)) : fit;
      const input = current.boxes.get(INPUT_NODE_ID) ?? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
      const down = current.model.direction === 'DOWN';
      void flow.setViewport(
        {
          x: placeAlong(width, x0, x1 - x0, input.x + input.width / 2, !down, zoom),
          y: placeAlong(height, y0, y1 - y0, input.y + input.height / 2, down, zoom),
          zoom,
        },
        readable ? undefined : { duration: 150 },
      );
    },
    [current, flow],
  );

  // Reset only when the pipeline's structure or direction changed (not on numbers, not on collapsing).
  useEffect(() => {
    if (!current || fittedStructure.current === current.model.structureKey) return;
    fittedStructure.current = current.model.structureKey;
    const detail = { pipeline: view.pipeline, nodes: nodes.length };
    requestAnimationFrame(() => {
      resetView(true);
      // A task queued from the next frame runs after that frame is painted: the mark
      // says when the graph was first on screen at its default view (read by the benchmark).
      requestAnimationFrame(() => setTimeout(() => performance.mark(GRAPH_PAINTED_MARK, { detail })));
    });
  }, [current, resetView]);

  const parentOf = useMemo(() => new Map(current?.model.nodes.filter((n) => n.parent).map((n) => [n.id, n.parent!]) ?? []), [current]);
  const absolute = useCallback(
    (id: string): Box | undefined => {
      if (!current) return undefined;
      const box = current.boxes.get(id);
      if (!box) return undefined;
      const parent = parentOf.get(id);
      const pb = parent ? current.boxes.get(parent) : undefined;
      return pb ? { ...box, x: box.x + pb.x, y: box.y + pb.y } : box;
    },
    [current, parentOf],
  );

  // Bring a selection made elsewhere (the text cursor, the keyboard) into view.
  useEffect(() => {
    if (!selected || !canvas.current) return;
    const box = absolute(selected);
    if (!box) return;
    const { x, y, zoom } = flow.getViewport();
    const rect = canvas.current.getBoundingClientRect();
    const left = box.x * zoom + x;
    const top = box.y * zoom + y;
    if (left < 0 || top < 0 || left + box.width * zoom > rect.width || top + box.height * zoom > rect.height) {
      // A box larger than the pane (a block just expanded) is shown from its start, where its first layers are.
      const w = Math.min(box.width, rect.width / zoom);
      const h = Math.min(box.height, rect.height / zoom);
      void flow.setCenter(box.x + w / 2, box.y + h / 2, { zoom, duration: 150 });
    }
  }, [selected, absolute, flow]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (!current) return;
    const navigable = nodes.filter((n) => n.type !== 'input' && !(n.type === 'group' && !(n.data as { collapsed: boolean }).collapsed));
    if (e.key === 'Escape') {
      onSelect(null, false);
      e.preventDefault();
      return;
    }
    if (e.key === 'Enter' && selected) {
      if (nodes.find((n) => n.id === selected)?.type === 'run') expandRun(selected);
      onSelect(selected, true);
      e.preventDefault();
      return;
    }
    if (e.key === ' ' && selected) {
      const layer = layers.get(selected);
      const block = layer ? layer.block : selected.startsWith('block:') ? selected.slice(6) : undefined;
      if (block) {
        onToggle(block);
        if (layer) onSelect(groupId(block), false);
      }
      e.preventDefault();
      return;
    }
    const dir = { ArrowDown: [0, 1], ArrowUp: [0, -1], ArrowRight: [1, 0], ArrowLeft: [-1, 0] }[e.key];
    if (!dir) return;
    e.preventDefault();
    const centre = (id: string): [number, number] | undefined => {
      const b = absolute(id);
      return b ? [b.x + b.width / 2, b.y + b.height / 2] : undefined;
    };
    const from = selected ? centre(selected) : undefined;
    if (!from) {
      const first = navigable.find((n) => n.type === 'layer') ?? navigable[0];
      if (first) onSelect(first.id, false);
      return;
    }
    let best: string | undefined;
    let bestScore = Infinity;
    for (const n of navigable) {
      if (n.id === selected) continue;
      const c = centre(n.id);
      if (!c) continue;
      const along = (c[0] - from[0]) * dir[0] + (c[1] - from[1]) * dir[1];
      if (along <= 1) continue;
      const across = Math.abs((c[0] - from[0]) * dir[1] + (c[1] - from[1]) * dir[0]);
      const score = along + 2 * across;
      if (score < bestScore) {
        bestScore = score;
        best = n.id;
      }
    }
    if (best) onSelect(best, false);
  };

  return (
    <div
      ref={wrapper}
      className="sense-graph"
      tabIndex={0}
      role="application"
      aria-roledescription="pipeline graph"
      aria-label={`Graph of pipeline ${view.pipeline}. Arrow keys move between layers, Enter shows the layer in the text, Space collapses its block.`}
      onKeyDown={onKeyDown}
    >
      <GraphTools onReset={() => resetView(true)} onShowAll={() => resetView(false)} minimap={minimap} onMinimap={() => setMinimapChoice(!minimap)} />
      <div className="sense-graph-main">
        <div className="sense-graph-canvas" ref={canvas}>
          <FlowDirectionContext.Provider value={direction}>
            <DetailContext.Provider value={lowDetail ? 'low' : 'full'}>
              <ReactFlow<StudioNode, Edge>
                {...FLOW_SETTINGS}
                nodes={nodes}
                edges={edges}
                onlyRenderVisibleElements={Math.max(nodes.length, storedNodes) > VISIBLE_ONLY_NODES}
                onNodeClick={(_, node) => {
                  if (node.type === 'input') return;
                  // A run's id is its first layer's: expanding it keeps that layer selected.
                  if (node.type === 'run') expandRun(node.id);
                  // A collapsed block opens on a click, as a run does; its layout is made then.
                  if (node.type === 'group' && node.data.collapsed) node.data.onToggle(node.data.block.name);
                  onSelect(node.id, true);
                  wrapper.current?.focus({ preventScroll: true });
                }}
                onPaneClick={() => onSelect(null, false)}
              >
                <Background gap={24} size={1} />
              </ReactFlow>
            </DetailContext.Provider>
          </FlowDirectionContext.Provider>
        </div>
        {minimap ? (
          <div className="sense-minimap-rail">
            <MiniMap pannable zoomable ariaLabel="Overview of the graph" style={{ width: 150, height: 110 }} nodeClassName={(n) => `sense-minimap-${n.type ?? 'node'}`} />
          </div>
        ) : null}
      </div>
      <div className="sense-sr-only" aria-live="polite">
        {selected ? describe(view, selected) : ''}
      </div>
      {laying ? (
        <div className="sense-laying" role="status">
          <i className="codicon codicon-loading codicon-modifier-spin" aria-hidden="true" /> Laying out…
        </div>
      ) : null}
    </div>
  );
}
