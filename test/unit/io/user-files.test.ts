// The one file-access module against the special files a stranger's repository can hold.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, chmodSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES, UserFileError, readUserFile, readUserFileSync, resolveUserPath, writeUserFileAtomic } from '../../../io/user-files';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'user-files-'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  mkdirSync(join(dir, 'folder'));
  symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
  symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
  const fd = openSync(join(dir, 'sparse'), 'w');
  ftruncateSync(fd, 10 * 1024 ** 3);
  closeSync(fd);
  writeFileSync(join(dir, 'ok.bin'), new Uint8Array([1, 2, 3]));
  mkdirSync(join(dir, 'ws'));
  symlinkSync('/etc/hostname', join(dir, 'ws', 'escape'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(fn: () => unknown): UserFileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserFileError);
    return e as UserFileError;
  }
  throw new Error('expected a UserFileError');
}

async function failureAsync(fn: () => Promise<unknown>): Promise<UserFileError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserFileError);
    return e as UserFileError;
  }
  throw new Error('expected a UserFileError');
}

describe('reading user-named files', () => {
  const cases: Array<[string, () => string, string, RegExp]> = [
    ['a FIFO', () => join(dir, 'fifo'), 'not-regular', /FIFO/],
    ['/dev/zero', () => '/dev/zero', 'not-regular', /character device/],
    ['/dev/urandom', () => '/dev/urandom', 'not-regular', /character device/],
    ['a directory', () => join(dir, 'folder'), 'not-regular', /is a directory/],
    ['a symbolic-link loop', () => join(dir, 'loop-a'), 'loop', /symbolic links loop/],
    ['a sparse 10 GB file', () => join(dir, 'sparse'), 'too-large', /10737418240 bytes is larger than/],
    ['a missing file', () => join(dir, 'missing.safetensors'), 'not-found', /no such weights file/],
  ];
  for (const [name, path, reason, message] of cases) {
    it(`refuses ${name} with a message naming it (sync and async)`, async () => {
      const e = failure(() => readUserFileSync(path(), 'weights'));
      expect(e.reason).toBe(reason);
      expect(e.message).toContain(path());
      expect(e.message).toMatch(message);
      const a = await failureAsync(() => readUserFile(path(), 'weights'));
      expect(a.reason).toBe(reason);
    });
  }

  it('reads a regular file exactly', async () => {
    expect([...readUserFileSync(join(dir, 'ok.bin'), 'weights')]).toEqual([1, 2, 3]);
    expect([...(await readUserFile(join(dir, 'ok.bin'), 'weights'))]).toEqual([1, 2, 3]);
  });

  it('reads a file larger than one read call asks for (64 MiB), across the boundary', async () => {
    // Sparse: 64 MiB of zeros, then 4 marked bytes straddling the first read's end.
    const big = join(dir, 'big.bin');
    const fd = openSync(big, 'w');
    writeSync(fd, new Uint8Array([5, 6, 7, 8]), 0, 4, 64 * 1024 ** 2 - 1);
    closeSync(fd);
    for (const bytes of [readUserFileSync(big, 'weights'), await readUserFile(big, 'weights')]) {
      expect(bytes.length).toBe(64 * 1024 ** 2 + 3);
      expect([bytes[0], ...bytes.subarray(-5)]).toEqual([0, 0, 5, 6, 7, 8]);
    }
  });

  it('applies the limit of the kind', () => {
    expect(MAX_FILE_BYTES.profile).toBeLessThan(MAX_FILE_BYTES.weights);
    const e = failure(() => readUserFileSync(join(dir, 'ok.bin'), 'profile', { maxBytes: 2 }));
    expect(e.reason).toBe('too-large');
  });

  it('confines to the roots after resolving symbolic links and ..', () => {
    const ws = join(dir, 'ws');
    expect(failure(() => readUserFileSync(join(ws, 'escape'), 'text', { roots: [ws] })).reason).toBe('outside');
    expect(failure(() => readUserFileSync(join(ws, '..', 'ok.bin'), 'text', { roots: [ws] })).reason).toBe('outside');
    expect(failure(() => resolveUserPath('/etc/passwd', 'weights', [ws])).message).toMatch(/outside the folder/);
    // Without roots the user chose the path: it is read.
    expect(readUserFileSync(join(ws, '..', 'ok.bin'), 'text').length).toBe(3);
  });
});

describe('writing atomically', () => {
  it('replaces a file keeping its mode and leaves no temporary file', () => {
    const p = join(dir, 'w', 'model.safetensors');
    mkdirSync(join(dir, 'w'));
    writeFileSync(p, 'old');
    chmodSync(p, 0o600);
    writeUserFileAtomic(p, 'new', 'weights');
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'w'))).toEqual(['model.safetensors']);
  });

  it('refuses to replace a FIFO or a directory, and paths outside the roots', () => {
    expect(failure(() => writeUserFileAtomic(join(dir, 'fifo'), 'x', 'weights')).reason).toBe('not-regular');
    expect(failure(() => writeUserFileAtomic(join(dir, 'folder'), 'x', 'weights')).reason).toBe('not-regular');
    expect(failure(() => writeUserFileAtomic(join(dir, 'x.bin'), 'x', 'weights', { roots: [join(dir, 'ws')] })).reason).toBe('outside');
  });
});
