/**
 * The `sense` command line: `sense COMMAND ...`. Each command lives in
 * cli/commands/NAME.ts and exports `summary`, `usage` and `run(args, ctx)`; to add one,
 * write that file and add it to COMMANDS below.
 */
import '../language/polyfills';
import * as check from './commands/check';
import * as fmt from './commands/fmt';
import * as info from './commands/info';
import * as estimate from './commands/estimate';
import * as train from './commands/train';
import * as initWeights from './commands/init-weights';
import * as exportCmd from './commands/export';
import * as runCmd from './commands/run';
import * as features from './commands/features';
import * as evalCmd from './commands/eval';
import * as calibrate from './commands/calibrate';
import * as partition from './commands/partition';
import * as compress from './commands/compress';
import * as importCmd from './commands/import';
import * as diff from './commands/diff';
import { isUserFileError } from '../io/user-files';
import { PipelineTooLargeError } from '../engine/weights/weights';
import { UsageError } from './load';

/** Where a command writes; tests capture it. */
export interface CommandContext {
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Command {
  summary: string;
  usage: string;
  run: (args: string[], ctx: CommandContext) => Promise<number>;
}

/** Every command, in the order `sense help` lists them. */
export const COMMANDS: Record<string, Command> = {
  check,
  fmt,
  info,
  estimate,
  train,
  'init-weights': initWeights,
  export: exportCmd,
  run: runCmd,
  features,
  eval: evalCmd,
  calibrate,
  partition,
  compress,
  import: importCmd,
  diff,
};

function help(ctx: CommandContext): void {
  ctx.out('sense: design, check, estimate, compress, partition, run and export sensing pipelines.\n');
  ctx.out('commands:');
  for (const [name, c] of Object.entries(COMMANDS)) ctx.out(`  ${name.padEnd(14)} ${c.summary}`);
  ctx.out('\nrun "sense help COMMAND" for its usage.');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], ctx: CommandContext = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const topic = args[0] && COMMANDS[args[0]];
    if (topic) ctx.out(`usage: ${topic.usage}\n${topic.summary}`);
    else help(ctx);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.err(`sense: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}.`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    ctx.out(`usage: ${command.usage}\n${command.summary}`);
    return 0;
  }
  try {
    return await command.run(args, ctx);
  } catch (e) {
    const code = failureCode(e, args);
    if (code !== undefined) {
      ctx.err(`sense ${name}: ${(e as Error).message}`);
      return code;
    }
    // Anything else is a bug in Sense Studio, not in the user's input: say so, with the stack only when asked for.
    const debug = process.env.SENSE_DEBUG === '1';
    ctx.err(`sense ${name}: internal error: ${debug ? ((e as Error).stack ?? String(e)) : e instanceof Error ? e.message : String(e)}`);
    if (!debug) ctx.err('(a bug in sense; run again with SENSE_DEBUG=1 for the stack trace and report it)');
    return 70;
  }
}

/**
 * The exit code of a failure the user can fix, printed as its message alone: a
 * {@link UsageError} (its code), a file that cannot be used (1), or any error whose message
 * names an argument the user typed or a file by its errno (1). Undefined for a bug.
 */
function failureCode(e: unknown, args: readonly string[]): number | undefined {
  if (e instanceof UsageError) return e.exitCode;
  if (isUserFileError(e) || e instanceof PipelineTooLargeError) return 1;
  if (!(e instanceof Error) || e instanceof TypeError || e instanceof ReferenceError || e instanceof SyntaxError) return undefined;
  if (typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).path === 'string') return 1;
  return args.some((a) => !a.startsWith('-') && a.length > 1 && e.message.includes(a)) ? 1 : undefined;
}
