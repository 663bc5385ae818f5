/**
 * The schedule after the branch unit, replayed with engine/schedule.ts's rules on only
 * the ops after the branch: the branch and bound's leaves are mostly ruled out here,
 * and only those within rounding of the incumbent go to the scheduler itself
 * (docs/partition.md, "Leaves").
 */
import type { Problem, Suffix } from './problem';

/**
 * The schedule after the branch unit, replayed as engine/schedule.ts computes it (list
 * order by ready time then IR index, one op at a time per processor, a tensor sent once
 * per destination as its first consumer is scheduled, hop by hop with one transfer per
 * resource at a time, the partition rule and dispatch of docs/partition.md, remote heads'
 * outputs sent back in block order), from time 0 with every processor and link idle: by
 * docs/partition.md (step 1) the real schedule is this one shifted by the prefix's end time.
 * `branchProc` is the branch unit's processor, `pending` whether its partition's
 * dispatch is still to be charged. Returns the makespan after the prefix (ms, including
 * a pending dispatch that no op after the branch takes) and the energy after the
 * prefix (mJ, transfers of the branch's output included). Agrees with the scheduler up to
 * floating-point rounding, which is why leaves still go to evaluate (problem.ts) when it
 * cannot rule them out.
 */
export function suffixSchedule(pr: Problem, sx: Suffix, assign: Int32Array, branchProc: number, pending: boolean, branchLayer: boolean): { makespanMs: number; energyMj: number } {
  const { processorCount: P } = pr;
  const m = sx.ops;
  const procFree = new Float64Array(P);
  const resFree = new Float64Array(pr.resourceCount);
  const endMs = new Float64Array(m);
  const arrival = new Float64Array((m + 1) * P).fill(-1);
  const part = new Int32Array(m);
  const partProc: number[] = [branchProc];
  const partNoop: boolean[] = [true];
  const dispatched: boolean[] = [!pending];
  // Readers of each tensor (local op index + 1; 0 = the branch output): the partitions that read it from elsewhere.
  const readers: number[][] = Array.from({ length: m + 1 }, () => []);
  for (let k = 0; k < m; k++) {
    const p = assign[sx.unit[k]];
    const src = sx.input[k];
    const feeder = src < 0 ? (branchLayer ? 0 : -1) : part[src];
    let q = -1;
    if (feeder >= 0 && partProc[feeder] === p) q = feeder;
    else q = readers[src + 1].find((x) => x !== feeder && partProc[x] === p) ?? -1;
    if (q < 0) {
      q = partProc.length;
      partProc.push(p);
      partNoop.push(true);
      dispatched.push(false);
    }
    part[k] = q;
    if (!sx.noop[k]) partNoop[q] = false;
    if (feeder !== q && !readers[src + 1].includes(q)) readers[src + 1].push(q);
  }
  // A pending dispatch whose partition gets no real op after the branch either was charged at the
  // partition's first op, in the prefix, which delays everything after it alike.
  const shift = pending && partNoop[0] ? pr.dispL[branchProc] : 0;
  if (shift > 0) dispatched[0] = true;
  let energy = 0;
  const send = (tensor: number, from: number, readyMs: number, bytes: number, to: number): number => {
    if (from === to) return readyMs;
    const key = tensor * P + to;
    if (arrival[key] >= 0) return arrival[key];
    const hops = sx.route(from, to, bytes);
    let t = readyMs;
    if (hops) {
      for (const h of hops) {
        const start = Math.max(t, resFree[h.r]);
        t = start + h.latencyMs;
        resFree[h.r] = t;
        energy += h.energyMj;
      }
    }
    arrival[key] = t;
    return t;
  };
  const readyKey = new Float64Array(m);
  const ready: number[] = [];
  for (let k = 0; k < m; k++) if (sx.input[k] < 0) ready.push(k);
  while (ready.length > 0) {
    let at = 0;
    for (let x = 1; x < ready.length; x++) {
      const a = ready[x];
      const b = ready[at];
      if (readyKey[a] < readyKey[b] || (readyKey[a] === readyKey[b] && a < b)) at = x;
    }
    const k = ready[at];
    ready[at] = ready[ready.length - 1];
    ready.pop();
    const p = assign[sx.unit[k]];
    const src = sx.input[k];
    const dataReady = src < 0 ? send(0, branchProc, 0, sx.branchBytes, p) : send(src + 1, assign[sx.unit[src]], endMs[src], sx.outBytes[src], p);
    let lat = sx.opLat[k * P + p];
    const q = part[k];
    if (!dispatched[q] && (!sx.noop[k] || partNoop[q])) {
      dispatched[q] = true;
      lat += pr.dispL[p];
      // The branch's partition (0) had its dispatch energy counted with the prefix.
      if (q !== 0) energy += sx.activePowerMw[p] * pr.dispL[p] * 1e-3;
    }
    energy += sx.opEn[k * P + p];
    const end = Math.max(procFree[p], dataReady) + lat;
    procFree[p] = end;
    endMs[k] = end;
    for (const c of sx.consumers[k]) {
      readyKey[c] = end;
      ready.push(c);
    }
  }
  let makespan = 0;
  for (let k = 0; k < m; k++) if (endMs[k] > makespan) makespan = endMs[k];
  for (const h of sx.heads) {
    const p = assign[sx.unit[h]];
    if (sx.remote[p] && p !== pr.defaultProcessor) makespan = Math.max(makespan, send(h + 1, p, endMs[h], sx.outBytes[h], pr.defaultProcessor));
  }
  for (let x = 0; x < arrival.length; x++) if (arrival[x] > makespan) makespan = arrival[x];
  return { makespanMs: makespan + shift, energyMj: energy };
}
