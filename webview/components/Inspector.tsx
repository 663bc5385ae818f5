/**
 * The inspector of the selected node. For a dense or conv layer: its singular-value
 * spectrum (./Spectrum.tsx), a rank slider and a rank field opening at a default rank
 * explained in one line, the spectral energy kept, live deltas of parameters, MACs,
 * latency, energy and estimated error (from the host's `compressionPreview` replies,
 * debounced), Apply; K-SVD and int8 as other methods. When the host cannot answer (no
 * weights file, weights that do not fit), the panel shows its reason in place of the
 * figures and stops waiting. For any layer or block: the processor picker, which asks
 * the host to write a `place` line.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import { FEATURES_NODE_ID, type BlockView, type CompressionMethod, type LayerView, type ToWebviewBody, type ViewState } from '../protocol';
import { describeCompression, formatCountShort, formatDelta, formatMj, formatMs, formatPercent } from '../../language/figures';
import { formatShape } from '../format';
import { SpectrumPlot, cumulativeEnergy, defaultRank } from './Spectrum';

/** A `spectrum` reply. */
export type SpectrumReply = Extract<ToWebviewBody, { type: 'spectrum' }>;
/** A `compressionPreview` reply. */
export type PreviewReply = Extract<ToWebviewBody, { type: 'compressionPreview' }>;
/** The host's `error` in reply to a `requestSpectrum` of `layerId`. */
export interface SpectrumFailure {
  layerId: string;
  message: string;
}
/** The host's `error` in reply to a `previewCompression` of `layerId` with `method`. */
export interface PreviewFailure extends SpectrumFailure {
  method: CompressionMethod;
}

/** Props of {@link Inspector}. */
export interface InspectorProps {
  view: ViewState;
  selected: string;
  spectrum: SpectrumReply | undefined;
  preview: PreviewReply | undefined;
  spectrumError?: SpectrumFailure;
  previewError?: PreviewFailure;
  onRequestSpectrum: (layerId: string) => void;
  onPreview: (layerId: string, method: CompressionMethod) => void;
  onApply: (layerId: string, method: CompressionMethod) => void;
  onRemove: (layerId: string) => void;
  onPlace: (targets: string[], processor: string) => void;
  onReveal: (id: string) => void;
  /** A model shown read-only (an .onnx file): its figures without placement, compression or links to text. */
  readOnly?: boolean;
}

/** Delay between the last slider move and the preview request. */
export const PREVIEW_DEBOUNCE_MS = 120;

function Placement({ view, targets, current, label, onPlace }: { view: ViewState; targets: string[]; current: string | undefined; label: string; onPlace: InspectorProps['onPlace'] }) {
  return (
    <label className="sense-field">
      <span>{label}</span>
      <select
        className="sense-select"
        aria-label={label}
        value={current ?? ''}
        onChange={(e) => {
          if (e.target.value) onPlace(targets, e.target.value);
        }}
      >
        {current === undefined ? <option value="">(mixed)</option> : null}
        {view.target.processors.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}

type MethodKind = 'svd' | 'sparse' | 'int8';

/** The ranks an SVD of a matrix whose smaller side is `max` can keep, as an input's bounds (the number field and the slider share them). */
function rankBounds(max: number): { min: number; max: number; step: number } {
  return { min: 1, max, step: 1 };
}

/** The rank as a number: typed freely, applied to the preview on Enter or when the field loses focus, bounded to 1..max. */
function RankInput({ rank, max, disabled, onRank }: { rank: number; max: number; disabled: boolean; onRank: (rank: number) => void }) {
  const [draft, setDraft] = useState<string | undefined>();
  const commit = (): void => {
    if (draft === undefined) return;
    const typed = Math.round(Number(draft));
    setDraft(undefined);
    if (draft.trim() !== '' && Number.isFinite(typed)) onRank(Math.max(1, Math.min(max, typed)));
  };
  return (
    <input
      type="number"
      className="sense-rank-input"
      data-testid="rank-input"
      {...rankBounds(max)}
      disabled={disabled}
      value={draft ?? String(rank)}
      aria-label={`SVD rank, 1 to ${max}; Enter applies it to the preview`}
      onChange={(e) => {
        // The spin buttons and arrow keys step by one and apply at once; typing waits for Enter.
        const native = e.nativeEvent as InputEvent;
        if (native.inputType === undefined || native.inputType === '') {
          setDraft(undefined);
          onRank(Math.max(1, Math.min(max, Math.round(Number(e.target.value)) || 1)));
        } else setDraft(e.target.value);
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
        else if (e.key === 'Escape') setDraft(undefined);
      }}
      onBlur={commit}
    />
  );
}

function CompressionEditor(props: InspectorProps & { layer: LayerView }) {
  const { layer, spectrum, preview, spectrumError, previewError, view, onRequestSpectrum, onPreview, onApply, onRemove } = props;
  const mine = spectrum?.layerId === layer.id ? spectrum : undefined;
  const values = mine?.singularValues;
  const spectrumFailed = spectrumError?.layerId === layer.id && !mine ? spectrumError.message : undefined;
  const full = Math.max(1, values?.length ?? Math.min(layer.inputShape.reduce((a, b) => a * b, 1), layer.outputShape[0] ?? 1));
  const initialRank = layer.compression?.kind === 'svd' && layer.compression.criterion === 'rank' ? layer.compression.rank : undefined;
  const [kind, setKind] = useState<MethodKind>(layer.compression?.kind ?? 'svd');
  const [rank, setRank] = useState<number | undefined>(initialRank);
  const [atoms, setAtoms] = useState(layer.compression?.kind === 'sparse' ? layer.compression.atoms : 128);
  const [nonzeros, setNonzeros] = useState(layer.compression?.kind === 'sparse' ? layer.compression.nonzeros : 8);

  useEffect(() => {
    if (spectrum?.layerId !== layer.id) onRequestSpectrum(layer.id);
  }, [layer.id]);
  const suggested = useMemo(() => (mine ? defaultRank(mine.singularValues, mine.breakEvenRank) : undefined), [mine]);
  // Without a spectrum (it failed) the rank starts half way, a guess the user is told nothing about because there is nothing to base one on.
  const effectiveRank = Math.max(1, Math.min(full, rank ?? suggested?.rank ?? Math.floor(full / 2)));
  // SVD previews wait for the spectrum (or its failure): the default rank comes from it.
  const waiting = kind === 'svd' && !mine && !spectrumFailed;

  const method = useMemo<CompressionMethod>(() => {
    if (kind === 'svd') return { kind: 'svd', criterion: 'rank', rank: effectiveRank };
    if (kind === 'sparse') return { kind: 'sparse', atoms, nonzeros };
    return { kind: 'int8' };
  }, [kind, effectiveRank, atoms, nonzeros]);
  const methodKey = JSON.stringify(method);

  // Asked again when the text changes (an Apply among others): "after" is against the pipeline as it now stands.
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    if (waiting) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => onPreview(layer.id, method), PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer.current);
  }, [layer.id, methodKey, view.documentVersion, waiting]);

  const kept = values ? cumulativeEnergy(values)[effectiveRank - 1] : undefined;
  const matching = preview && preview.layerId === layer.id && JSON.stringify(preview.method) === methodKey ? preview : undefined;
  const previewFailed = !matching && previewError?.layerId === layer.id && JSON.stringify(previewError.method) === methodKey ? previewError.message : undefined;
  // "now" is the layer as the graph shows it (compression applied included); "after" is the candidate's.
  const rows: [string, number, number, (n: number) => string][] = matching
    ? [
        ['Parameters', layer.params, matching.after.params, formatCountShort],
        ['MACs', layer.macs, matching.after.macs, formatCountShort],
        ['Latency', layer.latencyMs, matching.after.latencyMs, formatMs],
        ['Energy', layer.energyMj, matching.after.energyMj, formatMj],
      ]
    : [];
  const problems = [...new Set([spectrumFailed, previewFailed].filter((m): m is string => m !== undefined))];

  return (
    <div className="sense-compress">
      <h3>Compress</h3>
      <div className="sense-methods" role="radiogroup" aria-label="Compression method">
        {(
          [
            ['svd', 'SVD'],
            ['sparse', 'K-SVD'],
            ['int8', 'int8'],
          ] as const
        ).map(([k, text]) => (
          <label key={k}>
            <input type="radio" name={`method-${layer.id}`} value={k} checked={kind === k} onChange={() => setKind(k)} /> {text}
          </label>
        ))}
      </div>
      {problems.length ? (
        <div className="sense-unavailable" role="status" data-testid="compress-unavailable">
          {problems.map((m) => (
            <p key={m}>
              <i className="codicon codicon-info" aria-hidden="true" /> {m}
            </p>
          ))}
        </div>
      ) : null}
      {kind === 'svd' ? (
        <>
          {values && mine ? (
            <SpectrumPlot values={values} rank={effectiveRank} breakEvenRank={mine.breakEvenRank} />
          ) : spectrumFailed ? null : (
            <p className="sense-muted" role="status" data-testid="spectrum-loading">
              <i className="codicon codicon-loading codicon-modifier-spin" aria-hidden="true" /> Computing the singular values…
            </p>
          )}
          <div className="sense-rank">
            <label htmlFor={`rank-${layer.id}`}>Rank</label>
            <RankInput rank={effectiveRank} max={full} disabled={waiting} onRank={setRank} />
            <span className="sense-muted">of {full}</span>
            {suggested && effectiveRank !== suggested.rank ? (
              <button type="button" className="sense-link-button" data-testid="rank-default" onClick={() => setRank(suggested.rank)}>
                default {suggested.rank}
              </button>
            ) : null}
          </div>
          <input
            id={`rank-${layer.id}`}
            type="range"
            className="sense-rank-slider"
            data-testid="rank-slider"
            {...rankBounds(full)}
            value={effectiveRank}
            disabled={waiting}
            aria-label="SVD rank"
            aria-valuetext={`rank ${effectiveRank}${kept !== undefined ? `, ${formatPercent(kept)} of the spectral energy kept` : ''}`}
            onChange={(e) => setRank(Number(e.target.value))}
          />
          {mine && kept !== undefined ? (
            <p className="sense-rank-summary">
              Rank <output data-testid="rank-value">{effectiveRank}</output> keeps{' '}
              <span data-testid="retained-energy" title="The share of the sum of squared singular values the kept ranks hold: how much of the weight matrix survives, not energy in mJ.">
                {formatPercent(kept)} of the spectral energy
              </span>
              ; smaller than dense up to rank {mine.breakEvenRank} (dashed).
            </p>
          ) : (
            <p className="sense-rank-summary">
              Rank <output data-testid="rank-value">{effectiveRank}</output>
            </p>
          )}
          {suggested ? (
            <p className="sense-muted sense-hint" data-testid="rank-default-why">
              {suggested.why}
            </p>
          ) : null}
        </>
      ) : null}
      {kind === 'sparse' ? (
        <>
          <label className="sense-field">
            <span>Atoms</span>
            <input type="number" min={1} max={65536} value={atoms} aria-label="K-SVD dictionary atoms" onChange={(e) => setAtoms(Math.max(1, Math.floor(Number(e.target.value) || 1)))} />
          </label>
          <label className="sense-field">
            <span>Non-zeros</span>
            <input type="number" min={1} max={atoms} value={nonzeros} aria-label="K-SVD non-zeros per column" onChange={(e) => setNonzeros(Math.max(1, Math.floor(Number(e.target.value) || 1)))} />
          </label>
        </>
      ) : null}
      {kind === 'int8' ? <p className="sense-muted">Per-channel int8 weights in the exported model.</p> : null}
      <table className="sense-deltas" aria-label="Effect of the compression" aria-busy={!matching && !previewFailed && !waiting}>
        {matching ? (
          <thead>
            <tr>
              <th scope="col" />
              <th scope="col">now</th>
              <th scope="col">after</th>
              <th scope="col">change</th>
            </tr>
          </thead>
        ) : null}
        <tbody>
          {rows.map(([name, before, after, fmt]) => (
            <tr key={name} data-testid={`delta-${name.toLowerCase()}`}>
              <th scope="row">{name}</th>
              <td>{fmt(before)}</td>
              <td>{fmt(after)}</td>
              <td className={after < before ? 'is-better' : after > before ? 'is-worse' : ''}>{formatDelta(before, after)}</td>
            </tr>
          ))}
          {matching ? (
            <tr data-testid="delta-error">
              <th scope="row">Est. error</th>
              <td colSpan={3}>{(matching.estimatedError * 100).toFixed(2)}% relative output error</td>
            </tr>
          ) : (
            <tr>
              <td colSpan={4} className="sense-muted" data-testid="delta-pending">
                {previewFailed || spectrumFailed ? 'No estimate: the reason is above.' : waiting ? 'The estimate follows the spectrum.' : 'Estimating…'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="sense-actions">
        <VscodeButton data-testid="apply-compression" onClick={() => onApply(layer.id, method)}>
          <i className="codicon codicon-check" aria-hidden="true" /> Apply {describeCompression(method)}
        </VscodeButton>
        {layer.compression ? (
          <VscodeButton secondary data-testid="remove-compression" onClick={() => onRemove(layer.id)}>
            Remove {describeCompression(layer.compression)}
          </VscodeButton>
        ) : null}
      </div>
    </div>
  );
}

function LayerDetails(props: InspectorProps & { layer: LayerView }) {
  const { layer, view } = props;
  return (
    <>
      <h2>
        <i className="codicon codicon-symbol-field" aria-hidden="true" /> {layer.id}
        {layer.name ? ` (${layer.name})` : ''}
        {props.readOnly ? null : (
          <button type="button" className="sense-icon-button" aria-label={`Show ${layer.id} in the text`} title="Show in the text (Enter)" onClick={() => props.onReveal(layer.id)}>
            <i className="codicon codicon-go-to-file" aria-hidden="true" />
          </button>
        )}
      </h2>
      <dl className="sense-facts">
        <dt>Kind</dt>
        <dd>
          {layer.kind}
          {layer.activation ? ` · ${layer.activation}` : ''}
        </dd>
        <dt>Shapes</dt>
        <dd>
          {formatShape(layer.inputShape)} → {formatShape(layer.outputShape)}
        </dd>
        <dt>Parameters</dt>
        <dd>{formatCountShort(layer.params)}</dd>
        <dt>MACs</dt>
        <dd>{formatCountShort(layer.macs)}</dd>
        <dt>Estimate</dt>
        <dd>
          {formatMs(layer.latencyMs)}, {formatMj(layer.energyMj)} on {layer.processor}
        </dd>
        {layer.compression ? (
          <>
            <dt>Compressed</dt>
            <dd>{describeCompression(layer.compression)}</dd>
          </>
        ) : null}
      </dl>
      {layer.diagnostics.length ? (
        <ul className="sense-diagnostics">
          {layer.diagnostics.map((d, i) => (
            <li key={i} className={`sense-diag-${d.severity}`}>
              <i className={`codicon codicon-${d.severity}`} aria-hidden="true" /> {d.message} <span className="sense-muted">({d.code})</span>
            </li>
          ))}
        </ul>
      ) : null}
      {props.readOnly ? null : <Placement view={view} targets={[layer.id]} current={layer.processor} label={`Place ${layer.id} on`} onPlace={props.onPlace} />}
      <BlockPlacement {...props} block={view.blocks.find((b) => b.name === layer.block)} />
      {layer.compressible && !props.readOnly ? <CompressionEditor key={layer.id} {...props} /> : null}
    </>
  );
}

function BlockPlacement(props: InspectorProps & { block: BlockView | undefined }) {
  const { block, view } = props;
  if (!block || props.readOnly) return null;
  const procs = new Set(view.layers.filter((l) => l.block === block.name).map((l) => l.processor));
  return <Placement view={view} targets={[block.name]} current={procs.size === 1 ? [...procs][0] : undefined} label={`Place ${block.kind === 'head' ? 'head' : 'block'} ${block.name} on`} onPlace={props.onPlace} />;
}

/** The inspector of the selected node (a layer, a block, or the features). */
export function Inspector(props: InspectorProps) {
  const { view, selected } = props;
  const layer = view.layers.find((l) => l.id === selected);
  if (layer) return <section className="sense-panel sense-inspector" aria-label={`Inspector of ${layer.id}`}><LayerDetails {...props} layer={layer} /></section>;
  if (selected.startsWith('block:')) {
    const block = view.blocks.find((b) => `block:${b.name}` === selected);
    if (!block) return null;
    const mine = view.layers.filter((l) => l.block === block.name);
    return (
      <section className="sense-panel sense-inspector" aria-label={`Inspector of ${block.name}`}>
        <h2>
          <i className="codicon codicon-symbol-namespace" aria-hidden="true" /> {block.kind === 'head' ? 'Head' : 'Shared block'} {block.name}
          {props.readOnly ? null : (
            <button type="button" className="sense-icon-button" aria-label={`Show ${block.name} in the text`} onClick={() => props.onReveal(block.name)}>
              <i className="codicon codicon-go-to-file" aria-hidden="true" />
            </button>
          )}
        </h2>
        <dl className="sense-facts">
          <dt>Reads from</dt>
          <dd>{block.from ?? 'features'}</dd>
          <dt>Layers</dt>
          <dd>{mine.length}</dd>
          <dt>Parameters</dt>
          <dd>{formatCountShort(mine.reduce((a, l) => a + l.params, 0))}</dd>
          <dt>Latency</dt>
          <dd>{formatMs(mine.reduce((a, l) => a + l.latencyMs, 0))} (sum of its layers)</dd>
          {block.labels ? (
            <>
              <dt>Labels</dt>
              <dd>{block.labels.join(', ')}</dd>
            </>
          ) : null}
        </dl>
        <BlockPlacement {...props} block={block} />
      </section>
    );
  }
  if (selected === FEATURES_NODE_ID) {
    return (
      <section className="sense-panel sense-inspector" aria-label="Inspector of the features">
        <h2>
          <i className="codicon codicon-graph-line" aria-hidden="true" /> Features
        </h2>
        <p>{view.features.input}</p>
        <ol>
          {view.features.steps.map((s, i) => (
            <li key={i}>{s}</li>
          ))}
        </ol>
        <p>Output {formatShape(view.features.outputShape)}</p>
      </section>
    );
  }
  return null;
}
