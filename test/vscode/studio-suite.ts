/**
 * The life of the studio a real-VS-Code suite drives: started before the suite's first test
 * (code-server, the VSIX, the workspace; minutes on a shared machine), closed after its
 * last, and a screenshot of the workbench kept for each test that fails (test-output/vscode/),
 * for whoever reads the CI log. Each suite file calls {@link studioForSuite} inside its
 * `describe`.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startStudio, type Studio, type StudioOptions } from './code-server';

/**
 * Starts the studio with `options` before the suite and hands it to `started` (where the
 * suite keeps it and takes anything it needs at start); closes it after the suite. A failed
 * test's screenshot is named `${shotPrefix}failed-` and the test's name.
 */
export function studioForSuite(shotPrefix: string, options: StudioOptions, started: (s: Studio) => void): void {
  let studio: Studio | undefined;
  beforeAll(async () => {
    studio = await startStudio(options);
    started(studio);
  }, 300_000);

  afterAll(async () => {
    await studio?.close();
  }, 60_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await studio?.shot(`${shotPrefix}failed-${ctx.task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`).catch(() => undefined);
  });
}
