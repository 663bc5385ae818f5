/** Shared benchmark helpers: medians over repeated runs, printed with units. */

/** Runs `fn` `warmup` times, then `runs` times, and returns the median time in milliseconds. */
export async function medianMs(fn: () => unknown | Promise<unknown>, runs = 21, warmup = 3): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Formats one benchmark line: name, median, and an optional goal or reference. */
export function report(name: string, ms: number, note = ''): void {
  console.log(`${name.padEnd(56)} ${ms.toFixed(3).padStart(10)} ms${note ? '  ' + note : ''}`);
}
