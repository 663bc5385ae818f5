/**
 * A file's text at a git revision, read with `git show` through a child process (no shell),
 * with a time limit and a size limit: what `sense diff git:REV:PATH` and the studio's
 * "Compare with HEAD" read. Every refusal is a {@link GitRevisionError} whose message names
 * the file and says what is wrong (git missing, not in a repository, unknown revision, file
 * absent at the revision, too large, too slow).
 */
import { execFile } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import { MAX_FILE_BYTES, statUserPath } from './user-files';

/** How long one git command may run before it is stopped, in ms (a repository on a slow network disk, a held lock). */
export const GIT_TIMEOUT_MS = 15_000;

/** Why a file could not be read at a revision: `no-git`, `no-folder`, `not-repository`, `unknown-revision`, `absent`, `failed`. */
export class GitRevisionError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'GitRevisionError';
  }
}

/** Options of {@link readAtRevision}. */
export interface GitReadOptions {
  /** Largest text accepted, in bytes (default: the `.sense` file limit). */
  maxBytes?: number;
  /** Time limit of each git command, in ms (default {@link GIT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** Runs git in `dir` without a shell; resolves to stdout, rejects with git's first line of stderr. */
export function runGit(dir: string, args: readonly string[], options: GitReadOptions = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? MAX_FILE_BYTES.pipeline;
  const timeoutMs = options.timeoutMs ?? GIT_TIMEOUT_MS;
  return new Promise((done, fail) => {
    execFile('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: maxBytes, timeout: timeoutMs, killSignal: 'SIGKILL', windowsHide: true }, (error, stdout, stderr) => {
      if (!error) return done(stdout);
      const e = error as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return fail(new GitRevisionError('git is not installed or not on PATH; it is needed to read a file at a revision', 'no-git'));
      if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return fail(new GitRevisionError(`more than ${maxBytes} bytes`, 'failed'));
      if (e.killed) return fail(new GitRevisionError(`git ${args[0]} took more than ${timeoutMs / 1000} s and was stopped`, 'failed'));
      fail(new GitRevisionError(stderr.trim().split('\n')[0] || error.message, 'failed'));
    });
  });
}

/**
 * The text of the file `path` (absolute, or relative to the process's directory) at revision
 * `rev` of the repository holding its folder, and that folder. `label` names the file in
 * messages (`git:HEAD:a.sense`, or the path). The revision may not start with `-`.
 */
export async function readAtRevision(path: string, rev: string, label: string, options: GitReadOptions = {}): Promise<{ text: string; dir: string; name: string }> {
  const abs = resolve(path);
  const dir = dirname(abs);
  const name = basename(abs);
  const max = options.maxBytes ?? MAX_FILE_BYTES.pipeline;
  const opts = { ...options, maxBytes: max };
  if (rev === '' || rev.startsWith('-')) throw new GitRevisionError(`${label}: '${rev}' is not a revision`, 'unknown-revision');
  if (!statUserPath(dir, 'pipeline')?.isDirectory()) throw new GitRevisionError(`${label}: the folder ${dir} does not exist here, so no repository can be found for it`, 'no-folder');
  try {
    await runGit(dir, ['rev-parse', '--show-toplevel'], opts);
  } catch (e) {
    if ((e as GitRevisionError).reason === 'no-git') throw new GitRevisionError(`${label}: ${(e as Error).message}`, 'no-git');
    throw new GitRevisionError(`${label}: ${dir} is not inside a git repository (${(e as Error).message})`, 'not-repository');
  }
  try {
    await runGit(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], opts);
  } catch {
    throw new GitRevisionError(`${label}: unknown revision '${rev}' in the repository of ${dir}`, 'unknown-revision');
  }
  try {
    await runGit(dir, ['cat-file', '-e', `${rev}:./${name}`], opts);
  } catch {
    throw new GitRevisionError(`${label}: ${name} does not exist at revision ${rev} (not committed yet?)`, 'absent');
  }
  try {
    return { text: await runGit(dir, ['show', `${rev}:./${name}`], { ...opts, maxBytes: max + 1 }), dir, name };
  } catch (e) {
    throw new GitRevisionError(`${label}: cannot read ${name} at ${rev}: ${(e as Error).message}`, 'failed');
  }
}
