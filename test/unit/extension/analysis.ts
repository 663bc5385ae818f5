/**
 * A document's pipelines lowered and estimated in process, for the extension tests: the
 * language services and the engine's estimator composed directly (createSenseServices,
 * buildDocument, the lowering, applyMatchingProfiles, estimatePipeline), as the language
 * server composes them. The studio's own answers come from extension/server/studio.ts; this
 * is the independent reference the tests hold them and the pure helpers against.
 */
import { existsSync } from 'node:fs';
import { NodeFileSystem } from 'langium/node';
import { applyMatchingProfiles, type LoadedProfile } from '../../../engine/calibrate/profile';
import { estimatePipeline, type Estimate } from '../../../engine/estimate';
import { outlineOf, type PipelineOutline } from '../../../engine/source-edits';
import type * as ast from '../../../language/generated/ast';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import type { SourceDiagnostic } from '../../../extension/graph-model';

/** One pipeline of an analysed document. */
export interface AnalysedPipeline {
  name: string;
  node: ast.Pipeline;
  spec?: PipelineSpec;
  /** True when the language reported an error inside this pipeline. */
  hasErrors: boolean;
  outline: PipelineOutline;
  estimate?: Estimate;
  estimateError?: string;
  /** Sources of the measured device profiles applied to `spec`. */
  profiles?: string[];
}

/** A document, analysed: its diagnostics and pipelines. */
export interface Analysis {
  diagnostics: SourceDiagnostic[];
  pipelines: AnalysedPipeline[];
}

/** Analyses `.sense` texts one at a time (Langium's document builder is not reentrant), with `profiles` applied. */
export class TestAnalyzer {
  private readonly services = createSenseServices({ ...NodeFileSystem }, { fileExists: (p) => existsSync(p) });
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly profiles: readonly LoadedProfile[] = []) {}

  analyse(text: string, uri: string): Promise<Analysis> {
    const run = this.queue.then(() => this.run(text, uri));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(text: string, uri: string): Promise<Analysis> {
    const document = await buildDocument(this.services, text, uri);
    const lowering = this.services.Sense.lowering.Lowering.document(document.parseResult.value);
    const diagnostics: SourceDiagnostic[] = (document.diagnostics ?? []).map((d) => ({
      severity: d.severity,
      code: d.code ?? (d.data as { code?: string } | undefined)?.code,
      message: typeof d.message === 'string' ? d.message : d.message.value,
      range: d.range,
    }));
    const pipelines: AnalysedPipeline[] = [];
    for (const [node, lowered] of lowering.pipelines) {
      const range = node.$cstNode?.range;
      const hasErrors = diagnostics.some((d) => d.severity === 1 && range !== undefined && d.range.start.line >= range.start.line && d.range.start.line <= range.end.line);
      const matched = lowered.spec ? applyMatchingProfiles(lowered.spec, this.profiles) : undefined;
      const spec = matched?.spec;
      const applied = matched?.applied.map((p) => p.source) ?? [];
      const entry: AnalysedPipeline = { name: node.name, node, hasErrors, outline: outlineOf(node, spec, text), ...(spec ? { spec } : {}), ...(applied.length > 0 ? { profiles: applied } : {}) };
      if (!spec) entry.estimateError = `Pipeline ${node.name} needs an input and a target before it can be estimated.`;
      else if (hasErrors) entry.estimateError = `Pipeline ${node.name} has errors; fix them (see the Problems panel) to see estimates.`;
      else entry.estimate = estimatePipeline(spec);
      pipelines.push(entry);
    }
    return { diagnostics, pipelines };
  }
}
