/**
 * What counts as a failure in the fuzz harness. The product's contract for bad input is
 * a clear error: the language reports diagnostics and never throws, and an engine or
 * runtime entry point either returns or throws a plain Error whose message says what is
 * wrong (and, for a file, starts with the file's name). A TypeError, RangeError,
 * ReferenceError, a stack overflow, an allocation failure or a message that leaks an
 * internal ("Cannot read properties of undefined") is a crash, whatever the input.
 */
import type { LangiumDocument } from 'langium';

/** A broken property or contract, thrown by a target; the harness reports it as a crash. */
export class FuzzFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzFailure';
  }
}

/** Messages that only an internal failure produces, never a deliberate check. */
const INTERNAL = /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|undefined is not|null is not|Maximum call stack|Invalid array length|Invalid typed array length|Array buffer allocation failed|out of memory|Offset is outside the bounds|Invalid string length|Cannot convert (?:undefined|null)/;

/**
 * Throws a {@link FuzzFailure} unless `e` is the product's clear error: an instance of
 * Error but of none of the built-in error subclasses, with a message free of internals
 * that, when `name` is given, starts with it (the file or description the caller passed).
 */
export function expectClearError(e: unknown, stage: string, name?: string): void {
  if (!(e instanceof Error)) throw new FuzzFailure(`${stage} threw a non-Error value: ${String(e)}`);
  if (e instanceof FuzzFailure) throw e;
  const builtin = e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError || e instanceof EvalError || e instanceof URIError;
  if (builtin || INTERNAL.test(e.message)) throw new FuzzFailure(`${stage} crashed with ${e.name}: ${e.message}\n${e.stack ?? ''}`);
  if (name !== undefined && !e.message.startsWith(name)) throw new FuzzFailure(`${stage}'s error does not name the file ${name}: ${e.message}`);
}

/** Runs `f`; returns its value, or undefined when it threw a clear error (see {@link expectClearError}). */
export async function clearOrValue<T>(stage: string, name: string | undefined, f: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    expectClearError(e, stage, name);
    return undefined;
  }
}

const ALLOCATORS = ['ArrayBuffer', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'] as const;

/**
 * Runs the synchronous `f` and counts the bytes of every ArrayBuffer and typed array that
 * code calling the global constructors allocates meanwhile (a view on an existing buffer
 * allocates nothing; a copy counts). The constructors are wrapped only for the duration of
 * the call, so the count covers a decoder that allocates what a header declares, in one
 * buffer or in many small ones. Code that kept its own reference to a constructor (fflate's
 * inflate) is not counted; its buffers grow with the data it reads, not with a header.
 */
export function allocatedDuring<T>(f: () => T): { value?: T; error?: unknown; bytes: number } {
  const g = globalThis as unknown as Record<string, unknown>;
  const originals = ALLOCATORS.map((name) => g[name] as (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number });
  let bytes = 0;
  ALLOCATORS.forEach((name, i) => {
    const ctor = originals[i];
    const perElement = ctor.BYTES_PER_ELEMENT ?? 1;
    g[name] = new Proxy(ctor, {
      construct(target, args: unknown[], newTarget) {
        const a = args[0];
        if (typeof a === 'number') bytes += a * perElement;
        else if (a !== null && typeof a === 'object' && !(a instanceof ArrayBuffer) && !(typeof SharedArrayBuffer !== 'undefined' && a instanceof SharedArrayBuffer)) bytes += Number((a as { length?: number }).length ?? 0) * perElement;
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
  });
  try {
    return { value: f(), bytes };
  } catch (error) {
    return { error, bytes };
  } finally {
    ALLOCATORS.forEach((name, i) => (g[name] = originals[i]));
  }
}

/** Throws a {@link FuzzFailure} naming `what` unless `x` is a finite number >= 0. */
export function expectFiniteNonNegative(what: string, x: number): void {
  if (!(Number.isFinite(x) && x >= 0)) throw new FuzzFailure(`${what} is ${x}; expected a finite number >= 0`);
}

/**
 * True when an LSP range lies inside the document: lines end at \n, \r\n or \r (a mutant
 * may contain a bare \r), and a position is inside when converting it to an offset and
 * back is the identity.
 */
export function rangeInside(doc: LangiumDocument, r: { start: { line: number; character: number }; end: { line: number; character: number } }): boolean {
  const td = doc.textDocument;
  const ok = (p: { line: number; character: number }): boolean => {
    if (p.line < 0 || p.line >= td.lineCount || p.character < 0) return false;
    const back = td.positionAt(td.offsetAt(p));
    return back.line === p.line && back.character === p.character;
  };
  return ok(r.start) && ok(r.end) && td.offsetAt(r.start) <= td.offsetAt(r.end);
}
