/**
 * The one way Sense Studio touches a file that a `.sense` file, a setting, a webview
 * message or a command-line argument named. Node only; imports nothing of the project, so
 * every folder may use it.
 *
 * A path named by someone else's repository can be a FIFO that never ends a read,
 * `/dev/zero` (whose `readFileSync` aborts Node with an uncatchable `std::bad_alloc`), a
 * directory, a symbolic-link loop, a sparse file of many gigabytes, or a path that leaves the
 * workspace. So reading here: resolves symbolic links and, where the caller gives roots,
 * refuses a real path outside them; opens without blocking (`O_NONBLOCK`, so opening a FIFO
 * returns at once); checks on the open descriptor (`fstat`) that it is a regular file and that
 * its size is within the limit of its kind; and reads at most that many bytes. Writing goes to
 * an exclusive temporary file in the same folder, is fsynced, keeps the old file's mode and is
 * renamed over the target, so a reader sees the old file or the new one, never half of one.
 *
 * Every failure is a {@link UserFileError} whose message names the path, what it is and what
 * to do; none is a bare `EISDIR` or a stack trace.
 */
import { close, closeSync, constants, fstat, fstatSync, fsyncSync, open, openSync, read, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

export { MAX_FILE_BYTES, type UserFileKind } from './file-limits';
import { MAX_FILE_BYTES, type UserFileKind } from './file-limits';

const MiB = 1024 * 1024;

const KIND_NAMES: Readonly<Record<UserFileKind, string>> = {
  pipeline: 'pipeline file',
  weights: 'weights file',
  onnx: 'ONNX model',
  clip: 'clip',
  profile: 'device profile',
  json: 'JSON file',
  text: 'file',
};

/** A file that cannot be used: the message names the path, what is wrong and the fix. */
export class UserFileError extends Error {
  constructor(
    message: string,
    /** The path as the user named it. */
    readonly path: string,
    /** A stable reason: `not-found`, `not-regular`, `too-large`, `outside`, `loop`, `denied`, `io`, `exists`. */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'UserFileError';
  }
}

/** True for a {@link UserFileError}. */
export function isUserFileError(e: unknown): e is UserFileError {
  return e instanceof UserFileError;
}

/** Says in words what a non-regular file is ("a directory", "a FIFO (named pipe)", ...). */
export function describeFileType(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function errnoError(path: string, kind: UserFileKind, e: unknown): UserFileError {
  const code = (e as NodeJS.ErrnoException).code;
  const what = KIND_NAMES[kind];
  switch (code) {
    case 'ENOENT':
      return new UserFileError(`${path}: no such ${what}; check the path`, path, 'not-found');
    case 'ENOTDIR':
      return new UserFileError(`${path}: a folder on the way to this ${what} is a file; check the path`, path, 'not-found');
    case 'ELOOP':
      return new UserFileError(`${path}: symbolic links loop here (or too many links); point at the ${what} itself`, path, 'loop');
    case 'EACCES':
    case 'EPERM':
      return new UserFileError(`${path}: permission denied for this ${what}`, path, 'denied');
    case 'EISDIR':
      return new UserFileError(`${path} is a directory, not a ${what}; name the file inside it`, path, 'not-regular');
    case 'ENAMETOOLONG':
      return new UserFileError(`${path}: the path is too long`, path, 'not-found');
    default:
      return new UserFileError(`${path}: cannot read the ${what} (${code ?? (e as Error).message})`, path, 'io');
  }
}

/** Throws unless `path` is (after resolving links) inside one of `roots`. */
function insideRoots(real: string, roots: readonly string[]): boolean {
  for (const root of roots) {
    let realRoot: string;
    try {
      realRoot = realpathSync(root);
    } catch {
      realRoot = resolve(root);
    }
    const rel = relative(realRoot, real);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return true;
  }
  return false;
}

/** Options for reading and writing user-named files. */
export interface UserFileOptions {
  /**
   * Folders the real path (symbolic links resolved) must lie in: the workspace folder, or
   * for the CLI the current directory and the `.sense` file's folder. Omitted: no
   * confinement (a path the user picked in a dialog or typed on the command line).
   */
  roots?: readonly string[];
  /** Overrides the kind's size limit, in bytes. */
  maxBytes?: number;
}

/**
 * Resolves `path` (relative to the process's directory) to its real path and, when `roots`
 * are given, checks that it lies inside one of them. For a path that does not exist yet
 * (a file about to be written), its folder is resolved instead. Throws {@link UserFileError}.
 */
export function resolveUserPath(path: string, kind: UserFileKind, roots?: readonly string[]): string {
  const full = resolve(path);
  let real: string;
  try {
    real = realpathSync(full);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw errnoError(path, kind, e);
    try {
      real = join(realpathSync(dirname(full)), basename(full));
    } catch (e2) {
      throw errnoError(path, kind, e2);
    }
  }
  if (roots && roots.length > 0 && !insideRoots(real, roots)) {
    const where = roots.length === 1 ? `the folder ${roots[0]}` : `the folders ${roots.join(', ')}`;
    throw new UserFileError(`${path}: resolves to ${real}, outside ${where}; keep the ${KIND_NAMES[kind]} inside the workspace (or open it yourself from a dialog or the command line)`, path, 'outside');
  }
  return real;
}

function checkOpened(path: string, kind: UserFileKind, st: Stats, maxBytes: number): void {
  if (!st.isFile()) {
    const fix = st.isDirectory() ? `name the ${KIND_NAMES[kind]} inside it` : `give a regular ${KIND_NAMES[kind]}`;
    throw new UserFileError(`${path} is ${describeFileType(st)}, not a regular ${KIND_NAMES[kind]}; ${fix}`, path, 'not-regular');
  }
  if (st.size > maxBytes)
    throw new UserFileError(`${path}: ${st.size} bytes is larger than the ${maxBytes}-byte limit for a ${KIND_NAMES[kind]}; use a smaller file`, path, 'too-large');
}

/** The bytes read, or an error when the file shrank between `fstat` and the last read. */
function complete(path: string, kind: UserFileKind, bytes: Uint8Array, readBytes: number): Uint8Array {
  if (readBytes < bytes.length) throw new UserFileError(`${path}: the ${KIND_NAMES[kind]} shrank while it was read (${readBytes} of ${bytes.length} bytes); try again`, path, 'io');
  return bytes;
}

const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** The most one read call asks for: Node refuses a length over 2^31 - 1, and a weights file may hold 4 GiB. */
const READ_CHUNK_BYTES = 64 * MiB;

const openPromised = promisify(open);
const fstatPromised = promisify(fstat);
const readPromised = promisify(read);
const closePromised = promisify(close);

/**
 * One file-system call of a read, in its two forms. The read is written once, as the generator
 * {@link boundedRead} that yields its calls; {@link readUserFileSync} makes each call at once
 * and {@link readUserFile} awaits it, so the two follow the same rules.
 */
interface FsCall<T> {
  sync(): T;
  async(): Promise<T>;
}

/** Yields `call` and returns its result, typed (which a bare `yield` is not). */
function* perform<T>(call: FsCall<T>): Generator<FsCall<T>, T, T> {
  return yield call;
}

/**
 * The read behind {@link readUserFileSync} and {@link readUserFile}, as the calls it makes. Each
 * `yield` is typed through {@link perform}; the generator's own input type is `never`, so the
 * one place that hands a result back ({@link resume}) casts it.
 */
function* boundedRead(path: string, kind: UserFileKind, options: UserFileOptions): Generator<FsCall<unknown>, Uint8Array, never> {
  const real = resolveUserPath(path, kind, options.roots);
  const maxBytes = options.maxBytes ?? MAX_FILE_BYTES[kind];
  let fd: number;
  try {
    fd = yield* perform({ sync: () => openSync(real, READ_FLAGS), async: () => openPromised(real, READ_FLAGS) });
  } catch (e) {
    throw errnoError(path, kind, e);
  }
  try {
    const st = yield* perform({ sync: () => fstatSync(fd), async: () => fstatPromised(fd) });
    checkOpened(path, kind, st, maxBytes);
    const bytes = new Uint8Array(st.size);
    let at = 0;
    while (at < bytes.length) {
      const length = Math.min(bytes.length - at, READ_CHUNK_BYTES);
      let n: number;
      try {
        n = yield* perform({ sync: () => readSync(fd, bytes, at, length, at), async: async () => (await readPromised(fd, bytes, at, length, at)).bytesRead });
      } catch (e) {
        throw errnoError(path, kind, e);
      }
      if (n === 0) break;
      at += n;
    }
    return complete(path, kind, bytes, at);
  } finally {
    yield* perform({ sync: () => closeSync(fd), async: () => closePromised(fd) });
  }
}

/** What a call gave: its result, or what it threw. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Hands `outcome` back to `steps`: the result as the `yield`'s value, an error thrown at the `yield`. */
function resume<R>(steps: Generator<FsCall<unknown>, R, never>, outcome: Outcome): IteratorResult<FsCall<unknown>, R> {
  return outcome.ok ? steps.next(outcome.value as never) : steps.throw(outcome.error);
}

/**
 * Reads a user-named file: a regular file within the kind's size limit (and, with `roots`,
 * inside them). Never blocks on a FIFO or device and never reads past the size `fstat`
 * reported. Throws {@link UserFileError}.
 */
export function readUserFileSync(path: string, kind: UserFileKind, options: UserFileOptions = {}): Uint8Array {
  const steps = boundedRead(path, kind, options);
  let r = steps.next();
  while (!r.done) {
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: r.value.sync() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    r = resume(steps, outcome);
  }
  return r.value;
}

/** {@link readUserFileSync} decoded as UTF-8 text. */
export function readUserTextSync(path: string, kind: UserFileKind, options: UserFileOptions = {}): string {
  return new TextDecoder().decode(readUserFileSync(path, kind, options));
}

/** The asynchronous {@link readUserFileSync}, for threads that must not block (the extension host). */
export async function readUserFile(path: string, kind: UserFileKind, options: UserFileOptions = {}): Promise<Uint8Array> {
  const steps = boundedRead(path, kind, options);
  for (let r = steps.next(); ; ) {
    if (r.done) return r.value;
    r = resume(
      steps,
      await r.value.async().then(
        (value): Outcome => ({ ok: true, value }),
        (error: unknown): Outcome => ({ ok: false, error }),
      ),
    );
  }
}

/** {@link readUserFile} decoded as UTF-8 text. */
export async function readUserText(path: string, kind: UserFileKind, options: UserFileOptions = {}): Promise<string> {
  return new TextDecoder().decode(await readUserFile(path, kind, options));
}

/**
 * What is at `path` without following a final symbolic link into a special file: `undefined`
 * when nothing is there, else its `Stats` (of the link's target). Throws {@link UserFileError}
 * for loops and permission errors. For listing folders of clips without opening anything.
 */
export function statUserPath(path: string, kind: UserFileKind = 'text'): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw errnoError(path, kind, e);
  }
}

/** Throws {@link UserFileError} unless `path` is a regular file (it is not opened). */
export function requireRegularFile(path: string, kind: UserFileKind): Stats {
  const st = statUserPath(path, kind);
  if (!st) throw new UserFileError(`${path}: no such ${KIND_NAMES[kind]}; check the path`, path, 'not-found');
  checkOpened(path, kind, st, Number.POSITIVE_INFINITY);
  return st;
}

/**
 * Writes `data` to `path` atomically: an exclusive temporary file in the same folder (so the
 * rename cannot cross file systems), written in full, fsynced, given the mode of the file it
 * replaces (0o644 less the umask for a new file), renamed over the target, then the folder
 * fsynced. A crash leaves the old file or the new one; the temporary file is removed on
 * failure. Refuses to replace anything but a regular file. With `roots`, the target must lie
 * inside them. Throws {@link UserFileError}.
 */
export function writeUserFileAtomic(path: string, data: Uint8Array | string, kind: UserFileKind, options: Pick<UserFileOptions, 'roots'> = {}): void {
  const real = resolveUserPath(path, kind, options.roots);
  const existing = statUserPath(real, kind);
  if (existing && !existing.isFile())
    throw new UserFileError(`${path} is ${describeFileType(existing)}; refusing to replace it with a ${KIND_NAMES[kind]}; choose another path`, path, 'not-regular');
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const tmp = join(dirname(real), `.${basename(real)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, existing ? existing.mode & 0o7777 : 0o644);
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, real);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // The temporary file may not exist; nothing else to clean.
    }
    if (e instanceof UserFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserFileError(`${path}: cannot write the ${KIND_NAMES[kind]} (${code ?? (e as Error).message})${code === 'EACCES' || code === 'EROFS' ? '; choose a folder you can write to' : ''}`, path, 'io');
  }
  fsyncFolder(dirname(real));
}

/** Fsyncs a folder so a rename in it survives a crash; file systems that refuse are ignored. */
export function fsyncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some file systems (and Windows) cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
