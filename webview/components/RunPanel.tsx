/**
 * Run from the editor: pick a workspace clip or a labelled folder; per-head predictions
 * with probability bars, measured latency, accuracy and confusion matrices, and the
 * same figures before compression when the host sends them. Export Bundle lives here too.
 */
import { useState } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import { gateRateOffers, type GateRateOffer, type HeadRun, type RunView, type ToWebviewBody, type ViewState } from '../protocol';
import { formatMs, formatPercent } from '../../language/figures';
import { formatRate } from '../format';

/** A `runResult` message. */
export type RunReply = Extract<ToWebviewBody, { type: 'runResult' }>;

/** Props of {@link RunPanel}. */
export interface RunPanelProps {
  view: ViewState;
  result: RunReply | undefined;
  busy: boolean;
  onRunClip: (path: string | undefined) => void;
  onEvaluateFolder: (path: string | undefined) => void;
  onExport: () => void;
  /** Write observed rate: write the gate's observed rate as its `expect` line. */
  onWriteRate: (offer: GateRateOffer) => void;
}

/**
 * How often each gate opened in the run, against its `expect` line; a gate whose rate differs
 * (or that has no line) offers "Write observed rate" while the graph still has that gate.
 */
function GateRates({ run, view, busy, onWriteRate }: { run: RunView; view: ViewState; busy: boolean; onWriteRate: (offer: GateRateOffer) => void }) {
  const gates = run.gates ?? [];
  if (gates.length === 0) return null;
  const offers = new Map(gateRateOffers(run).map((o) => [`${o.head}\u0000${o.label}`, o]));
  const shown = new Set<string>();
  return (
    <div className="sense-gate-rates" data-testid="gate-rates">
      <h4>Gates</h4>
      {gates.map((g) => {
        const key = `${g.gateHead}\u0000${g.label}`;
        if (shown.has(key)) return null;
        shown.add(key);
        const heads = gates.filter((x) => x.gateHead === g.gateHead && x.label === g.label).map((x) => x.head);
        const offer = offers.get(key);
        const inGraph = view.blocks.some((b) => b.gate?.head === g.gateHead && b.gate.label === g.label);
        const observed = g.windows > 0 ? formatRate(g.opened / g.windows) : 'no window';
        return (
          <div key={key} className="sense-gate-rate" data-gate={`${g.gateHead} ${g.label}`}>
            <span title={`${heads.join(', ')} ran when ${g.gateHead}'s top label was ${g.label}`}>
              {g.gateHead} is {g.label}: {g.opened} of {g.windows} windows ({observed}) · {g.expected !== undefined ? `expect ${formatRate(g.expected)}` : 'no expect line'}
            </span>
            {offer && inGraph ? (
              <VscodeButton secondary data-testid="write-rate" disabled={busy} title={`Write expect ${offer.head} ${offer.label} ${formatRate(offer.fraction)} into the pipeline`} onClick={() => onWriteRate(offer)}>
                <i className="codicon codicon-edit" aria-hidden="true" /> Write observed rate
              </VscodeButton>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

function Probabilities({ head, label }: { head: HeadRun; label: string }) {
  if (!head.probabilities) return null;
  const ranked = head.probabilities.map((p, i) => ({ p, name: head.labels[i] ?? `#${i}` })).sort((a, b) => b.p - a.p).slice(0, 5);
  return (
    <div className="sense-probs" aria-label={`${label} probabilities of ${head.head}`}>
      {ranked.map(({ p, name }, i) => (
        <div key={name} className={`sense-prob${i === 0 ? ' is-top' : ''}`} role="meter" aria-label={name} aria-valuemin={0} aria-valuemax={1} aria-valuenow={p}>
          <span className="sense-prob-label">{name}</span>
          <span className="sense-bar-track">
            <span className="sense-bar-fill" style={{ width: `${(p * 100).toFixed(1)}%` }} />
          </span>
          <span className="sense-prob-value">{formatPercent(p)}</span>
        </div>
      ))}
    </div>
  );
}

function Confusion({ head }: { head: HeadRun }) {
  if (!head.confusion) return null;
  const max = Math.max(1, ...head.confusion.flat());
  return (
    <table className="sense-confusion" aria-label={`Confusion matrix of ${head.head}: rows true labels, columns predicted`}>
      <thead>
        <tr>
          <th scope="col">true \ predicted</th>
          {head.labels.map((l) => (
            <th key={l} scope="col">
              {l}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {head.confusion.map((row, i) => (
          <tr key={i}>
            <th scope="row">{head.labels[i] ?? `#${i}`}</th>
            {row.map((n, j) => (
              <td key={j} className={i === j ? 'is-diagonal' : ''} style={{ ['--cell' as string]: String(n / max) }}>
                {n}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RunColumn({ run, label }: { run: RunView; label: string }) {
  return (
    <div className="sense-run-column" data-testid={`run-${label}`}>
      <h4>
        {label} · {formatMs(run.measuredLatencyMs)} per window{run.windows ? ` · ${run.windows} windows` : ''}
      </h4>
      {run.heads.map((h) => (
        <div key={h.head} className="sense-run-head" data-head={h.head}>
          <h5>
            {h.head}
            {h.accuracy !== undefined ? <span className="sense-accuracy"> accuracy {formatPercent(h.accuracy)}{h.silentClips ? ` (${h.silentClips} silent)` : ''}</span> : null}
          </h5>
          <Probabilities head={h} label={label} />
          <Confusion head={h} />
        </div>
      ))}
    </div>
  );
}

/** The run panel. */
export function RunPanel({ view, result, busy, onRunClip, onEvaluateFolder, onExport, onWriteRate }: RunPanelProps) {
  const clips = view.samples?.clips ?? [];
  const folders = view.samples?.folders ?? [];
  const [clip, setClip] = useState<string>('');
  const [folder, setFolder] = useState<string>('');
  return (
    <section className="sense-panel" aria-label="Run">
      <h2>
        <i className="codicon codicon-play" aria-hidden="true" /> Run
      </h2>
      <div className="sense-run-controls">
        <select className="sense-select" aria-label="Clip to run" value={clip} onChange={(e) => setClip(e.target.value)}>
          <option value="">Choose a clip…</option>
          {clips.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <VscodeButton data-testid="run-clip" disabled={busy} onClick={() => onRunClip(clip || undefined)}>
          <i className="codicon codicon-play" aria-hidden="true" /> Run
        </VscodeButton>
      </div>
      <div className="sense-run-controls">
        <select className="sense-select" aria-label="Labelled folder to evaluate" value={folder} onChange={(e) => setFolder(e.target.value)}>
          <option value="">Choose a labelled folder…</option>
          {folders.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
        <VscodeButton secondary data-testid="evaluate-folder" disabled={busy} onClick={() => onEvaluateFolder(folder || undefined)}>
          <i className="codicon codicon-checklist" aria-hidden="true" /> Evaluate
        </VscodeButton>
      </div>
      {result ? (
        <div className="sense-run-result" data-testid="run-result">
          <p className="sense-muted">{result.input.path}</p>
          <div className={result.before ? 'sense-run-compare' : ''}>
            {result.before ? <RunColumn run={result.before} label="before" /> : null}
            <RunColumn run={result.after} label={result.before ? 'after' : 'result'} />
          </div>
          <GateRates run={result.after} view={view} busy={busy} onWriteRate={onWriteRate} />
        </div>
      ) : null}
      <h3>Bundle</h3>
      <VscodeButton secondary data-testid="export-bundle" disabled={busy} onClick={onExport}>
        <i className="codicon codicon-package" aria-hidden="true" /> Export bundle
      </VscodeButton>
    </section>
  );
}
