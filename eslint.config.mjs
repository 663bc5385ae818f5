// ESLint: keeps the pure core (language/, engine/, runtime/) free of VS Code, React and the DOM.
import tseslint from 'typescript-eslint';

const pureCoreRestriction = {
  paths: [
    { name: 'vscode', message: 'Only extension/ may import vscode: the pure core must run in plain Node.' },
    { name: 'react', message: 'React belongs in webview/: the pure core must run in plain Node.' },
    { name: 'react-dom', message: 'React belongs in webview/: the pure core must run in plain Node.' },
  ],
  patterns: [
    { group: ['react-dom/*', '@xyflow/*', '@vscode-elements/*'], message: 'UI libraries belong in webview/.' },
    { group: ['**/extension/*', '**/webview/*', '../extension/**', '../webview/**'], message: 'The pure core must not depend on the shell.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'test-output/**', 'language/generated/**', 'engine/compress/wasm/assembly/**', '**/*.js', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
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
);
