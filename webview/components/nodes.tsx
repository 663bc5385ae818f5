/**
 * React Flow node types of the graph editor: the input, the feature front end, a layer,
 * and a block group (a shared block or a head) that collapses.
 */
import { createContext, memo, useContext } from 'react';
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import type { BlockView, FeaturesView, LayerView } from '../protocol';
import type { FlowDirection } from '../layout';
import { describeCompression, formatCountShort, formatMs } from '../../language/figures';
import { formatRate, formatShape } from '../format';
import { CompareBadge } from './ComparePanel';

/** Data of a layer node. */
export type LayerNodeData = { layer: LayerView; colorIndex: number };
/** Data of a block group node. */
export type GroupNodeData = {
  block: BlockView;
  collapsed: boolean;
  layerCount: number;
  params: number;
  latencyMs: number;
  colorIndex?: number;
  onToggle: (block: string) => void;
};
/** Data of a run of identical layers drawn as one node. */
export type RunNodeData = { layers: LayerView[]; colorIndex: number };
/** Data of the features node. */
export type FeaturesNodeData = { features: FeaturesView; colorIndex?: number };
/** Data of the input node. */
export type InputNodeData = { text: string };

/** A layer node. */
export type LayerNode = Node<LayerNodeData, 'layer'>;
/** A run of identical layers. */
export type RunNode = Node<RunNodeData, 'run'>;
/** A block group node. */
export type GroupNode = Node<GroupNodeData, 'group'>;
/** The features node. */
export type FeaturesNode = Node<FeaturesNodeData, 'features'>;
/** The input node. */
export type InputNode = Node<InputNodeData, 'input'>;
/** Any node of the graph editor. */
export type StudioNode = LayerNode | RunNode | GroupNode | FeaturesNode | InputNode;

const KIND_ICON: Record<string, string> = {
  dense: 'symbol-field',
  conv1d: 'symbol-array',
  conv2d: 'symbol-array',
  maxpool: 'fold-down',
  avgpool: 'fold-down',
  batchnorm: 'symbol-operator',
  dropout: 'filter',
  flatten: 'list-flat',
  gru: 'sync',
  lstm: 'sync',
  activation: 'pulse',
};

/** The direction the graph is laid out in: edges leave and enter nodes along it. */
export const FlowDirectionContext = createContext<FlowDirection>('DOWN');

/**
 * How much a node draws: everything, or at low zoom (`low`) only its kind in large type on
 * its processor's colour, which stays legible zoomed out and keeps thousands of nodes cheap.
 */
export const DetailContext = createContext<'full' | 'low'>('full');

/** The simplified node drawn at low zoom: one large label on the node's box, and its handles for the edges. */
function LowDetail({ className, label, title, layerId }: { className: string; label: string; title: string; layerId?: string }) {
  return (
    <div className={`${className} sense-low-detail`} data-layer-id={layerId} title={title}>
      {handles()}
      <span className="sense-low-detail-label">{label}</span>
    </div>
  );
}

function handles() {
  return <Handles />;
}

function Handles({ source = true, target = true }: { source?: boolean; target?: boolean }) {
  const right = useContext(FlowDirectionContext) === 'RIGHT';
  return (
    <>
      {target ? <Handle type="target" position={right ? Position.Left : Position.Top} isConnectable={false} /> : null}
      {source ? <Handle type="source" position={right ? Position.Right : Position.Bottom} isConnectable={false} /> : null}
    </>
  );
}

function DiagnosticsBadge({ layer }: { layer: LayerView }) {
  if (layer.diagnostics.length === 0) return null;
  const worst = layer.diagnostics.some((d) => d.severity === 'error') ? 'error' : layer.diagnostics.some((d) => d.severity === 'warning') ? 'warning' : 'info';
  const text = layer.diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}`).join('\n');
  return (
    <span className={`sense-diag sense-diag-${worst}`} title={text} aria-label={`${layer.diagnostics.length} ${worst === 'info' ? 'notes' : worst + 's'}: ${text}`}>
      <i className={`codicon codicon-${worst}`} aria-hidden="true" />
      {layer.diagnostics.length}
    </span>
  );
}

/** A layer: kind, output shape, parameters, MACs, processor (colour) and estimated latency. */
export const LayerNodeView = memo(function LayerNodeView({ data, selected }: NodeProps<LayerNode>) {
  const l = data.layer;
  const className = `sense-node sense-layer proc-${data.colorIndex}${selected ? ' is-selected' : ''}${l.compression ? ' is-compressed' : ''}`;
  if (useContext(DetailContext) === 'low') return <LowDetail className={className} label={l.kind} title={`${l.id}: ${l.kind}`} layerId={l.id} />;
  return (
    <div className={className} data-layer-id={l.id} title={`${l.id}: ${l.kind}`}>
      {handles()}
      <div className="sense-node-head">
        <i className={`codicon codicon-${KIND_ICON[l.kind] ?? 'circle-outline'}`} aria-hidden="true" />
        <span className="sense-kind">
          {l.kind}
          {l.activation && l.kind !== 'activation' ? ` · ${l.activation}` : l.kind === 'activation' && l.activation ? ` ${l.activation}` : ''}
        </span>
        <span className="sense-id">{l.name ?? l.id}</span>
        <DiagnosticsBadge layer={l} />
      </div>
      <div className="sense-node-row">
        <span className="sense-shape" title="output shape">→ {formatShape(l.outputShape)}</span>
        {l.compression ? <span className="sense-compression" title="compressed by a compress line">{describeCompression(l.compression)}</span> : null}
      </div>
      <div className="sense-node-row sense-muted">
        <span title="parameters">{formatCountShort(l.params)} params</span>
        <span title="multiply-accumulates per inference">{formatCountShort(l.macs)} MACs</span>
      </div>
      <div className="sense-node-row">
        <span className="sense-proc-chip">{l.processor}</span>
        <CompareBadge layerId={l.id} />
        <span className="sense-latency" title="estimated latency on its processor">{formatMs(l.latencyMs)}</span>
      </div>
    </div>
  );
});

/** A run of identical layers ("60 × dense · relu"): the totals of its layers; a click expands it. */
export const RunNodeView = memo(function RunNodeView({ data, selected }: NodeProps<RunNode>) {
  const first = data.layers[0];
  const last = data.layers[data.layers.length - 1];
  const sum = (f: (l: LayerView) => number): number => data.layers.reduce((a, l) => a + f(l), 0);
  const className = `sense-node sense-layer sense-run proc-${data.colorIndex}${selected ? ' is-selected' : ''}`;
  const title = `${data.layers.length} identical layers, ${first.id} to ${last.id}: click to show each`;
  if (useContext(DetailContext) === 'low') return <LowDetail className={className} label={`${data.layers.length} × ${first.kind}`} title={title} layerId={first.id} />;
  return (
    <div className={className} data-layer-id={first.id} title={title}>
      {handles()}
      <div className="sense-node-head">
        <i className="codicon codicon-layers" aria-hidden="true" />
        <span className="sense-kind">
          {data.layers.length} × {first.kind}
          {first.activation ? ` · ${first.activation}` : ''}
        </span>
      </div>
      <div className="sense-node-row">
        <span className="sense-shape" title="output shape of each">→ {formatShape(first.outputShape)} each</span>
        <span className="sense-id sense-muted">
          {first.name ?? first.id}–{last.index}
        </span>
      </div>
      <div className="sense-node-row sense-muted">
        <span title="parameters of the run">{formatCountShort(sum((l) => l.params))} params</span>
        <span title="multiply-accumulates of the run per inference">{formatCountShort(sum((l) => l.macs))} MACs</span>
      </div>
      <div className="sense-node-row">
        <span className="sense-proc-chip">{first.processor}</span>
        <span className="sense-latency" title="estimated latency of the run">{formatMs(sum((l) => l.latencyMs))}</span>
      </div>
    </div>
  );
});

/** A shared block or head: a frame around its layers, or one box when collapsed. */
export const GroupNodeView = memo(function GroupNodeView({ data, selected }: NodeProps<GroupNode>) {
  const b = data.block;
  const className = `sense-group sense-group-is-${b.kind}${data.collapsed ? ' is-collapsed' : ''}${selected ? ' is-selected' : ''}${data.colorIndex !== undefined ? ` proc-${data.colorIndex}` : ''}`;
  const low = useContext(DetailContext) === 'low';
  if (low && data.collapsed) return <LowDetail className={className} label={b.name} title={`${b.kind === 'head' ? 'head' : 'shared block'} ${b.name}: ${data.layerCount} layers; click to expand`} />;
  return (
    <div className={`${className}${low ? ' sense-low-detail-frame' : ''}`} data-block={b.name}>
      {handles()}
      <div className="sense-group-head">
        <button
          type="button"
          className="sense-icon-button nodrag nopan"
          aria-label={`${data.collapsed ? 'Expand' : 'Collapse'} ${b.kind === 'head' ? 'head' : 'block'} ${b.name}`}
          aria-expanded={!data.collapsed}
          onClick={(e) => {
            e.stopPropagation();
            data.onToggle(b.name);
          }}
        >
          <i className={`codicon codicon-chevron-${data.collapsed ? 'right' : 'down'}`} aria-hidden="true" />
        </button>
        <span className="sense-group-kind">{b.kind === 'head' ? 'head' : 'shared'}</span>
        <span className="sense-group-name">{b.name}</span>
        {b.labels ? <span className="sense-muted sense-group-labels" title={b.labels.join(', ')}>{b.labels.length} labels</span> : null}
        {b.gate ? (
          <span
            className="sense-firing"
            data-testid={`firing-${b.name}`}
            title={`Runs only when ${b.gate.head}'s top label is ${b.gate.label}: on ${formatRate(b.firingProbability ?? 1)} of windows${b.gate.expectedRate === undefined ? ` (no 'expect ${b.gate.head} ${b.gate.label}' line: taken as always open)` : ''}`}
          >
            <i className="codicon codicon-debug-breakpoint-conditional-unverified" aria-hidden="true" /> fires {formatRate(b.firingProbability ?? 1)}
          </span>
        ) : null}
      </div>
      {data.collapsed ? (
        <div className="sense-node-row sense-muted sense-group-summary">
          <span>{data.layerCount} layers</span>
          <span>{formatCountShort(data.params)} params</span>
          <span>{formatMs(data.latencyMs)}</span>
        </div>
      ) : null}
    </div>
  );
});

/** The feature front end: its steps and output shape. */
export const FeaturesNodeView = memo(function FeaturesNodeView({ data, selected }: NodeProps<FeaturesNode>) {
  const f = data.features;
  return (
    <div className={`sense-node sense-features${selected ? ' is-selected' : ''}${data.colorIndex !== undefined ? ` proc-${data.colorIndex}` : ''}`}>
      {handles()}
      <div className="sense-node-head">
        <i className="codicon codicon-graph-line" aria-hidden="true" />
        <span className="sense-kind">features</span>
        <span className="sense-id">→ {formatShape(f.outputShape)}</span>
      </div>
      <ul className="sense-steps">
        {f.steps.slice(0, 8).map((s, i) => (
          <li key={i}>{s}</li>
        ))}
      </ul>
    </div>
  );
});

/** The input's icon by its kind, the first word of its description ("image 227x227x3"). */
const INPUT_ICON: Record<string, string> = { audio: 'mic', image: 'file-media', inertial: 'pulse' };

/** The sensor input. */
export const InputNodeView = memo(function InputNodeView({ data }: NodeProps<InputNode>) {
  return (
    <div className="sense-node sense-input">
      <Handles target={false} />
      <i className={`codicon codicon-${INPUT_ICON[data.text.split(' ')[0]] ?? 'circle-outline'}`} aria-hidden="true" /> <span>{data.text}</span>
    </div>
  );
});

/** The node types, defined once outside any component as React Flow requires. */
export const nodeTypes = { layer: LayerNodeView, run: RunNodeView, group: GroupNodeView, features: FeaturesNodeView, input: InputNodeView };
