/**
 * The one command-line parser of every `sense` command: `node:util`'s `parseArgs` in strict
 * mode, so an unknown or misspelt flag (`--jsn`) stops the command with its name and the
 * usage instead of being ignored. Node's messages are reworded into the CLI's style
 * (`unknown option '--jsn'; usage: ...`) and thrown as {@link UsageError} (exit code 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './load';

/** The flags of one command, in `parseArgs`' form. */
export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/** The option name Node's message quotes first (`'--top <value>'`, `'-o, --out <value>'` -> `--out`). */
function quotedOption(message: string): string {
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const words = quoted.split(/[ ,]+/).filter((w) => w.startsWith('-'));
  return words.at(-1) ?? quoted;
}

/** Node's `parseArgs` error as the CLI's message. */
function argsErrorText(e: unknown, usage: string): string {
  const { code, message } = e as { code?: string; message: string };
  const option = quotedOption(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${option}'; usage: ${usage}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(message)) return `${option} takes no value; usage: ${usage}`;
    if (/ambiguous/.test(message)) return `${option} needs a value; a value that starts with '-' is written ${option}=VALUE; usage: ${usage}`;
    return `${option} needs a value; usage: ${usage}`;
  }
  return `${message}; usage: ${usage}`;
}

/**
 * Parses `args` against `flags` strictly: positionals are allowed (each command checks how
 * many it takes), `tokens` say where each came from. Throws {@link UsageError} naming the
 * unknown flag, or the flag whose value is missing.
 */
export function parseCommandArgs<const F extends FlagSpec>(args: string[], flags: F, usage: string) {
  try {
    return parseArgs({ args, options: flags, strict: true, allowPositionals: true, tokens: true });
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(argsErrorText(e, usage));
    throw e;
  }
}

/** Throws {@link UsageError} unless there are between `min` and `max` positionals (`what` names them). */
export function expectPositionals(positionals: readonly string[], min: number, max: number, what: string, usage: string): void {
  if (positionals.length >= min && positionals.length <= max) return;
  const got = positionals.length === 0 ? 'none' : positionals.map((p) => `'${p}'`).join(', ');
  throw new UsageError(`expected ${what}, got ${got}; usage: ${usage}`);
}

/**
 * A number from a flag's text that `valid` accepts, or undefined when the flag is absent.
 * Throws {@link UsageError} naming the flag, `what` it needs (`a positive integer`) and the text.
 */
export function numberFlag(flag: string, text: string | undefined, valid: (x: number) => boolean, what: string): number | undefined {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || !valid(x)) throw new UsageError(`${flag} needs ${what}, got '${text}'`);
  return x;
}

/** A whole number within [min, max] from a flag's text, or `fallback` when the flag is absent. */
export function integerFlag(flag: string, text: string | undefined, fallback: number, min: number, max: number, what: string): number {
  return numberFlag(flag, text, (x) => Number.isSafeInteger(x) && x >= min && x <= max, what) ?? fallback;
}
