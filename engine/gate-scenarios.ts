/**
 * The outcomes of a window's gates. A gated head (`head speaker from encoder when ambient is
 * voicing`) runs on a window only when the head its gate reads runs and has that top label;
 * the `expect` lines say how often each label wins (BlockSpec.gate.fraction). The estimate
 * (engine/estimate.ts) costs every outcome on the one schedule in which every gate opens and
 * takes the expectation, so energy and latency per window are expected figures.
 *
 * Model: each gating head's top label is one random outcome per window, the labels its gates
 * name winning with their expected fractions and "another label" with the rest; different
 * gating heads are independent. When the fractions of one head's gated labels add up to more
 * than 1 (gates without an `expect` line count as 1, which lowering warns about), its labels
 * are taken as independent instead, each opening its gates with its own fraction.
 */
import type { BlockSpec } from '../language/pipeline-model';
import { gateOrder } from './ir';

/** One outcome of the gates of a window: its probability and the blocks that run. */
export interface GateScenario {
  probability: number;
  runs: ReadonlySet<string>;
}

/** Most outcomes enumerated (the estimate runs on every keystroke, each outcome costs a pass over the ops); beyond it the estimate uses expected busy times instead ({@link gateScenarios}). */
export const MAX_GATE_SCENARIOS = 256;

/** One random choice: a gating head's top label (or, for a head whose fractions exceed 1, one label's gate open or not). */
interface Choice {
  head: string;
  /** The label set to win in each option (undefined: none of the gated labels), with its probability. */
  options: { labels: readonly string[]; probability: number }[];
}

/**
 * Every outcome of the gates of `blocks` with a probability above 0 (the probabilities add up
 * to 1), or undefined when there would be more than {@link MAX_GATE_SCENARIOS}. `gated`
 * names the heads whose gates count (the IR's: a gate on an unknown head never closes); a
 * pipeline without gates has one outcome in which every block runs.
 */
export function gateScenarios(blocks: readonly BlockSpec[], gated: ReadonlySet<string>): GateScenario[] | undefined {
  const fractions = new Map<string, Map<string, number>>();
  for (const b of blocks) {
    if (!b.gate || !gated.has(b.name)) continue;
    const labels = fractions.get(b.gate.head) ?? new Map<string, number>();
    labels.set(b.gate.label, b.gate.fraction);
    fractions.set(b.gate.head, labels);
  }
  const choices: Choice[] = [];
  for (const [head, labels] of fractions) {
    const total = [...labels.values()].reduce((a, f) => a + f, 0);
    if (total <= 1 + 1e-12) {
      choices.push({ head, options: [...[...labels].map(([l, f]) => ({ labels: [l], probability: f })), { labels: [], probability: Math.max(0, 1 - total) }] });
    } else {
      for (const [l, f] of labels) choices.push({ head, options: [{ labels: [l], probability: f }, { labels: [], probability: 1 - f }] });
    }
  }
  let count = 1;
  for (const c of choices) {
    count *= c.options.length;
    if (count > MAX_GATE_SCENARIOS) return undefined;
  }
  const order = gateOrder(blocks);
  const out: GateScenario[] = [];
  const pick = (k: number, probability: number, winners: Map<string, Set<string>>): void => {
    if (probability <= 0) return;
    if (k === choices.length) {
      const runs = new Set<string>();
      for (const b of order) {
        const open = !b.gate || !gated.has(b.name) || (runs.has(b.gate.head) && (winners.get(b.gate.head)?.has(b.gate.label) ?? false));
        if (open) runs.add(b.name);
      }
      out.push({ probability, runs });
      return;
    }
    const c = choices[k];
    for (const o of c.options) {
      const next = new Map(winners);
      next.set(c.head, new Set([...(winners.get(c.head) ?? []), ...o.labels]));
      pick(k + 1, probability * o.probability, next);
    }
  };
  pick(0, 1, new Map());
  return out;
}
