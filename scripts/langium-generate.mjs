// Runs langium-cli's `generate` on Node 20, where Chevrotain 13 needs Object.groupBy.
if (typeof Object.groupBy !== 'function') {
  Object.groupBy = (items, key) => {
    const groups = Object.create(null);
    let i = 0;
    for (const item of items) (groups[key(item, i++)] ??= []).push(item);
    return groups;
  };
}
process.argv = [process.argv[0], 'langium', 'generate'];
const { pathToFileURL, fileURLToPath } = await import('node:url');
const { dirname, join } = await import('node:path');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await import(pathToFileURL(join(root, 'node_modules', 'langium-cli', 'bin', 'langium.js')).href);
// Langium writes a keywords-only TextMate grammar; replace it with ours once it is done.
// Langium may end with process.exit, so run synchronously from the exit handler.
const { execFileSync } = await import('node:child_process');
process.on('exit', (code) => {
  if (code === 0) execFileSync(process.execPath, [join(root, 'scripts', 'tm-grammar.mjs')], { stdio: 'inherit' });
});
