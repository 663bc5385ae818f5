/**
 * Renders the README's screenshots (docs/images/graph.png, docs/images/compress.png):
 * the graph editor against the mock host, as the webview tests see it, with the rank
 * slider of encoder.3 at 100 in the second. Run `npx tsx test/webview/readme-screenshots.mts`
 * after a visible change to the webview. The figures are the test fixture's, so the
 * pictures show the editor, not a measurement.
 */
import { resolve } from 'node:path';
import { startHarness } from './harness';

const images = resolve(import.meta.dirname, '../../docs/images');
const harness = await startHarness();
try {
  const page = await harness.open('theme=light', { width: 1280, height: 760 });
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node-layer').length > 5);
  // Let React Flow's fit-view and the ELK layout settle before the picture.
  await page.waitForTimeout(800);
  await page.screenshot({ path: `${images}/graph.png` });
  await page.click('.react-flow__node[data-id="encoder.3"]');
  await page.waitForSelector('.sense-spectrum');
  // Rank 100 with the arrow keys, as a keyboard user would move the slider.
  const slider = page.locator('[data-testid="rank-slider"]');
  await slider.focus();
  const steps = Number(await slider.inputValue()) - 100;
  for (let i = 0; i < Math.abs(steps); i++) await page.keyboard.press(steps > 0 ? 'ArrowLeft' : 'ArrowRight');
  await page.waitForSelector('[data-testid="delta-parameters"]');
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${images}/compress.png` });
} finally {
  await harness.close();
}
