/** Test helper: lowers inline `.sense` text to checked pipelines, failing on any error diagnostic. */
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import type { PipelineSpec } from '../../../language/pipeline-model';

const services = createSenseServices();
let counter = 0;

/** Parses and lowers `text`; returns its pipeline named `name` (or its only one). Throws listing the errors. */
export async function specOf(text: string, name?: string): Promise<PipelineSpec> {
  const doc = await buildDocument(services, text, `file:///engine-test-${counter++}.sense`);
  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
  if (errors.length > 0) throw new Error(`test pipeline has errors:\n${errors.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('\n')}`);
  const specs = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()].map((p) => p.spec).filter((s): s is PipelineSpec => !!s);
  const spec = name ? specs.find((s) => s.name === name) : specs[0];
  if (!spec) throw new Error(`no pipeline ${name ?? ''} in test text`);
  return spec;
}

/**
 * An inertial pipeline (stats + normalize front end, one shared dense layer, one head) on
 * a one-processor device (1 GMAC/s, 100 mW): small enough for hand arithmetic.
 */
export const ONE_PROCESSOR = `
  pipeline P {
    input inertial { rate 50 Hz  window 2 s  accelerometer [x, y, z] }
    features { stats mean, std  normalize }
    shared enc { dense 8 relu }
    head h from enc { dense 2 softmax }
    target T
  }
  device T {
    processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
  }`;
