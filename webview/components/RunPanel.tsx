/**
 * Run from the editor: pick a workspace clip or a labelled folder; per-head predictions
 * with probability bars, measured latency, accuracy and confusion matrices, and the
 * same figures before compression when the host sends them. Export Bundle lives here too.
 */
import { useState } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import type { HeadRun, RunView, ToWebviewBody, ViewState } from '../protocol';
import { formatMs, formatPercent } from '../../language/figures';

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
export function RunPanel({ view, result, busy, onRunClip, onEvaluateFolder, onExport }: RunPanelProps) {
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
        </div>
      ) : null}
      <h3>Bundle</h3>
      <VscodeButton secondary data-testid="export-bundle" disabled={busy} onClick={onExport}>
        <i className="codicon codicon-package" aria-hidden="true" /> Export bundle
      </VscodeButton>
    </section>
  );
}
