// ESLint: the folder layering of ARCHITECTURE.md as a rule that fails the build, and the pure
// core (io/, language/, engine/, runtime/) kept free of VS Code, React and the DOM.
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * What each of our folders may import of our other folders (ARCHITECTURE.md's folder table):
 * an entry is a folder or one file (without its extension). A folder's own files are always
 * allowed; a folder missing here (test/, scripts/) may import anything, and nothing else may
 * import it. Imports of packages, and of files outside these folders, are not judged here.
 */
const layers = {
  io: [],
  language: ['io'],
  runtime: ['language', 'io'],
  engine: ['runtime', 'language', 'io'],
  cli: ['engine', 'runtime', 'language', 'io'],
  // The host side of the webview's protocol, and nothing else of the webview.
  extension: ['engine', 'runtime', 'language', 'io', 'webview/protocol'],
  // The one figure formatter, so the graph editor writes numbers as hover and the CLI do.
  webview: ['language/figures'],
};
const ourFolders = [...Object.keys(layers), 'test', 'scripts'];

/** The repository-relative path an import names, without its extension, or undefined for a package. */
function importedPath(fromFile, spec) {
  if (!spec.startsWith('.')) return undefined;
  return relative(root, resolve(dirname(fromFile), spec)).split('\\').join('/').replace(/\.(d\.)?[cm]?[jt]sx?$/, '');
}

/** The rule `layers/allowed-folders`: every relative import, re-export, dynamic import and import type against the table. */
const allowedFolders = {
  meta: {
    type: 'problem',
    docs: { description: 'Each folder imports only the folders ARCHITECTURE.md allows it.' },
    schema: [{ type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }],
  },
  create(context) {
    const table = context.options[0] ?? {};
    const file = relative(root, context.filename).split('\\').join('/');
    const folder = file.split('/')[0];
    const allowed = table[folder];
    if (!allowed) return {};
    const check = (node, source) => {
      if (typeof source?.value !== 'string') return;
      const target = importedPath(context.filename, source.value);
      const targetFolder = target?.split('/')[0];
      if (!target || targetFolder === folder || !ourFolders.includes(targetFolder)) return;
      if (allowed.some((a) => target === a || target.startsWith(`${a}/`))) return;
      context.report({
        node,
        message: `${folder}/ may import only ${allowed.length ? allowed.map((a) => (a.includes('/') ? `${a}.ts` : `${a}/`)).join(', ') : 'its own files'} of our folders (ARCHITECTURE.md); '${source.value}' is in ${targetFolder}/.`,
      });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source),
      ExportNamedDeclaration: (n) => check(n, n.source),
      ExportAllDeclaration: (n) => check(n, n.source),
      ImportExpression: (n) => check(n, n.source),
      TSImportType: (n) => check(n, n.source ?? n.argument?.literal),
      TSExternalModuleReference: (n) => check(n, n.expression),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require') check(n, n.arguments[0]);
      },
    };
  },
};

const noVscode = { name: 'vscode', message: 'Only extension/ (not its language server, extension/server/) may import vscode: everything else runs in plain Node or a browser.' };

const pureCoreRestriction = {
  paths: [
    noVscode,
    { name: 'react', message: 'React belongs in webview/: the pure core must run in plain Node.' },
    { name: 'react-dom', message: 'React belongs in webview/: the pure core must run in plain Node.' },
  ],
  patterns: [{ group: ['react-dom/*', '@xyflow/*', '@vscode-elements/*'], message: 'UI libraries belong in webview/.' }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'test-output/**', 'language/generated/**', 'engine/compress/wasm/assembly/**', '**/*.js', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    plugins: { layers: { rules: { 'allowed-folders': allowedFolders } } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'layers/allowed-folders': ['error', layers],
    },
  },
  {
    files: ['io/**/*.ts', 'language/**/*.ts', 'engine/**/*.ts', 'runtime/**/*.ts'],
    languageOptions: {
      // No DOM globals in the pure core: window/document would only exist in a browser.
      globals: {},
    },
    rules: {
      'no-restricted-imports': ['error', pureCoreRestriction],
      'no-restricted-globals': ['error',
        { name: 'window', message: 'No DOM in the pure core.' },
        { name: 'document', message: 'No DOM in the pure core.' },
        { name: 'navigator', message: 'No DOM in the pure core.' },
        { name: 'localStorage', message: 'No DOM in the pure core.' }],
    },
  },
  {
    files: ['cli/**/*.ts', 'extension/server/**/*.ts', 'webview/**/*.ts', 'webview/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode] }] },
  },
);
