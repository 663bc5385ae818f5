/**
 * The folder layering of ARCHITECTURE.md holds and is enforced. Three checks:
 * - ESLint's `layers/allowed-folders` rule (eslint.config.mjs) fires on every import a
 *   folder is not allowed, in every syntax an import can take, and stays quiet on the allowed
 *   ones; `vscode` and the DOM globals are refused where they do not exist;
 * - the imports actually in the tree, read by TypeScript's own scanner (not ESLint's parser,
 *   and including the files ESLint ignores), obey the same table and form no cycle between
 *   folders;
 * - the DOM library is loaded only where a DOM exists: tsconfig.json (the Node side) rejects
 *   `document`, webview/tsconfig.json accepts it and rejects Node's `process`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOLS = ['test', 'scripts'];

let eslint: ESLint;
/** The table the rule runs with, read from the configuration ESLint resolves (folder -> allowed folders or files). */
let table: Record<string, string[]>;

beforeAll(async () => {
  eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.mjs') });
  const config = await eslint.calculateConfigForFile(join(root, 'runtime/probe.ts'));
  table = config.rules['layers/allowed-folders'][1];
});

/** The messages of `ruleId` for `code` linted as if it were the file `file` (repository-relative). */
async function lint(file: string, code: string, ruleId = 'layers/allowed-folders'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId === ruleId).map((m) => m.message);
}

/** An import from `file` of `target` (a repository-relative module path), written relative as the code base writes it. */
function importLine(file: string, target: string): string {
  let spec = relative(dirname(join(root, file)), join(root, target));
  if (!spec.startsWith('.')) spec = `./${spec}`;
  return `import { x } from '${spec}';\nexport const y = x;\n`;
}

const allowedBy = (folder: string, target: string): boolean =>
  target.split('/')[0] === folder || (table[folder] ?? []).some((a) => target === a || target.startsWith(`${a}/`));

describe('ESLint layer rule', () => {
  it('reads a table in which every folder of ARCHITECTURE.md has a place and test/, scripts/ sit on top', () => {
    expect(Object.keys(table).sort()).toEqual(['cli', 'engine', 'extension', 'io', 'language', 'runtime', 'webview']);
    for (const allowed of Object.values(table)) for (const t of TOOLS) expect(allowed.some((a) => a.split('/')[0] === t)).toBe(false);
  });

  it('refuses the imports the issue found, each by name', async () => {
    const cases: [string, string][] = [
      ['runtime/runner.ts', 'engine/calibrate/profile'],
      ['runtime/bundle-entry.ts', 'engine/export/manifest'],
      ['cli/commands/train.ts', 'scripts/samples/signal'],
      ['webview/mock/mock-host.ts', 'test/webview/fixtures/make-fixture'],
      ['language/lower.ts', 'engine/estimate'],
      ['io/user-files.ts', 'language/units'],
      ['engine/calibrate/fit.ts', 'cli/load'],
      ['extension/graph-editor.ts', 'webview/App'],
      ['webview/App.tsx', 'engine/estimate'],
    ];
    for (const [file, target] of cases) {
      const messages = await lint(file, importLine(file, target));
      expect(messages, `${file} importing ${target}`).toHaveLength(1);
      expect(messages[0]).toContain(`is in ${target.split('/')[0]}/`);
      expect(messages[0]).toContain('ARCHITECTURE.md');
    }
  });

  it('refuses every folder a folder is not allowed and accepts every one it is, from a nested file too', async () => {
    const targets = [...Object.keys(table), ...TOOLS].map((f) => `${f}/some-module`);
    let refused = 0;
    for (const folder of Object.keys(table)) {
      for (const file of [`${folder}/probe.ts`, `${folder}/deep/er/probe.ts`]) {
        for (const target of targets) {
          const messages = await lint(file, importLine(file, target));
          const allowed = allowedBy(folder, target);
          expect(messages, `${file} importing ${target}`).toHaveLength(allowed ? 0 : 1);
          if (!allowed) refused++;
        }
      }
    }
    // Each folder refuses test/ and scripts/ at least, from both depths.
    expect(refused).toBeGreaterThanOrEqual(Object.keys(table).length * TOOLS.length * 2);
  });

  it('allows the one file of webview/ the extension shares, and the one of language/ the webview shares', async () => {
    expect(await lint('extension/lsp-ext.ts', importLine('extension/lsp-ext.ts', 'webview/protocol'))).toEqual([]);
    expect(await lint('extension/server/studio.ts', importLine('extension/server/studio.ts', 'webview/protocol'))).toEqual([]);
    expect(await lint('extension/graph-editor.ts', importLine('extension/graph-editor.ts', 'webview/host-bridge'))).toHaveLength(1);
    expect(await lint('webview/App.tsx', importLine('webview/App.tsx', 'language/figures'))).toEqual([]);
    expect(await lint('webview/App.tsx', importLine('webview/App.tsx', 'language/lower'))).toHaveLength(1);
  });

  it('catches every syntax an import can take', async () => {
    const forms = [
      `import { validateManifest } from '../engine/export/manifest';`,
      `import type { BundleManifest } from '../engine/export/manifest';`,
      `import '../engine/export/manifest';`,
      `export { providersFor } from '../engine/export/manifest.js';`,
      `export * from '../engine/export/manifest';`,
      `export const m = await import('../engine/export/manifest');`,
      `export type M = import('../engine/export/manifest').BundleManifest;`,
      `import m = require('../engine/export/manifest');\nexport { m };`,
    ];
    for (const code of forms) expect(await lint('runtime/probe.ts', code), code).toHaveLength(1);
  });

  it('lets test/ and scripts/ import anything, and judges no package import', async () => {
    expect(await lint('test/unit/probe.test.ts', importLine('test/unit/probe.test.ts', 'webview/App'))).toEqual([]);
    expect(await lint('scripts/probe.ts', importLine('scripts/probe.ts', 'test/unit/fuzz/targets'))).toEqual([]);
    expect(await lint('engine/probe.ts', `import { z } from 'zod';\nexport const s = z.string();\n`)).toEqual([]);
  });

  it('keeps vscode to the extension host and the DOM out of the pure core', async () => {
    const vscode = `import * as vscode from 'vscode';\nexport const v = vscode;\n`;
    expect(await lint('extension/extension.ts', vscode, 'no-restricted-imports')).toEqual([]);
    for (const file of ['extension/server/main.ts', 'cli/main.ts', 'webview/App.tsx', 'engine/ir.ts', 'runtime/runner.ts', 'language/lower.ts', 'io/user-files.ts'])
      expect(await lint(file, vscode, 'no-restricted-imports'), file).toHaveLength(1);
    expect(await lint('runtime/probe.ts', `export const t = document.title;\n`, 'no-restricted-globals')).toHaveLength(1);
  });
});

/** Every TypeScript and JavaScript source file under `dir`, repository-relative. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() && entry.name !== 'node_modules') out.push(...sourceFiles(path));
    else if (entry.isFile() && /\.(m|c)?(t|j)sx?$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe('imports in the tree', () => {
  /** Folder -> folder it imports -> one import that shows it (`file -> specifier`). */
  const graph = new Map<string, Map<string, string>>();
  const violations: string[] = [];

  beforeAll(() => {
    for (const folder of [...Object.keys(table), ...TOOLS]) {
      for (const file of sourceFiles(folder)) {
        const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
        for (const { fileName: spec } of importedFiles) {
          if (!spec.startsWith('.')) continue;
          const target = relative(root, resolve(root, dirname(file), spec)).replace(/\.(d\.)?[cm]?[jt]sx?$/, '');
          const targetFolder = target.split('/')[0]!;
          if (targetFolder === folder || ![...Object.keys(table), ...TOOLS].includes(targetFolder)) continue;
          if (!graph.has(folder)) graph.set(folder, new Map());
          if (!graph.get(folder)!.has(targetFolder)) graph.get(folder)!.set(targetFolder, `${file} -> ${spec}`);
          if (table[folder] && !allowedBy(folder, target)) violations.push(`${file} -> ${spec}`);
        }
      }
    }
  });

  it('finds the imports it should (the scan is not empty)', () => {
    expect(graph.get('engine')?.has('language')).toBe(true);
    expect(graph.get('extension')?.has('webview')).toBe(true);
  });

  it('obey the layer table, including in files ESLint does not lint', () => {
    expect(violations).toEqual([]);
  });

  it('form no cycle between folders (test/ and scripts/ counted as one layer of tools)', () => {
    const node = (f: string): string => (TOOLS.includes(f) ? 'test+scripts' : f);
    const edges = new Map<string, Map<string, string>>();
    for (const [from, tos] of graph)
      for (const [to, why] of tos) {
        if (node(from) === node(to)) continue;
        if (!edges.has(node(from))) edges.set(node(from), new Map());
        edges.get(node(from))!.set(node(to), why);
      }
    // Depth-first search; a back edge to a folder on the current path is a cycle, reported with its imports.
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]): void => {
      state.set(n, 'open');
      for (const to of edges.get(n)?.keys() ?? []) {
        if (state.get(to) === 'open') {
          const loop = [...path, n].slice([...path, n].indexOf(to));
          cycles.push(loop.map((f, i) => `${f} -> ${loop[(i + 1) % loop.length]} (${edges.get(f)!.get(loop[(i + 1) % loop.length]!)})`).join(', '));
        } else if (!state.has(to)) visit(to, [...path, n]);
      }
      state.set(n, 'done');
    };
    for (const n of edges.keys()) if (!state.has(n)) visit(n, []);
    expect(cycles).toEqual([]);
  });
});

describe('DOM types only where the DOM exists', () => {
  function options(configPath: string): ts.ParsedCommandLine {
    const parsed = ts.getParsedCommandLineOfConfigFile(join(root, configPath), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
    if (!parsed) throw new Error(`${configPath} did not parse`);
    return parsed;
  }

  /** Type-checks one in-memory file under a configuration's options; the error codes. */
  function check(configPath: string, code: string): number[] {
    const { options: opts } = options(configPath);
    const probe = join(root, dirname(configPath), 'dom-probe.ts');
    const host = ts.createCompilerHost(opts);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, ...rest) => (name === probe ? ts.createSourceFile(name, code, lang) : getSourceFile(name, lang, ...rest));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === probe || fileExists(name);
    const program = ts.createProgram([probe], opts, host);
    return ts.getPreEmitDiagnostics(program, program.getSourceFile(probe)).map((d) => d.code);
  }

  it('tsconfig.json covers no webview/ or browser-test file and rejects document', () => {
    const files = options('tsconfig.json').fileNames.map((f) => relative(root, f));
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => f.startsWith('webview/') || f.startsWith('test/webview/') || f.startsWith('test/vscode/'))).toEqual([]);
    expect(check('tsconfig.json', 'export const t: string = document.title;\n')).toContain(2584);
    expect(check('tsconfig.json', 'export const p: string | undefined = process.env.HOME;\n')).toEqual([]);
  });

  it('webview/tsconfig.json covers every webview file, has the DOM and no Node', () => {
    const files = options('webview/tsconfig.json').fileNames.map((f) => relative(root, f));
    expect(files).toEqual(expect.arrayContaining(['webview/App.tsx', 'webview/protocol.ts', 'webview/mock/mock-host.ts']));
    expect(check('webview/tsconfig.json', 'export const t: string = document.title;\n')).toEqual([]);
    expect(check('webview/tsconfig.json', 'export const p = process.env.HOME;\n').length).toBeGreaterThan(0);
  });
});
