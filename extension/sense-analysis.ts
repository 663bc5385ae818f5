/**
 * The extension host's own view of a `.sense` document: parse, check, lower and estimate
 * it in process, with the same language services and engine estimator the language
 * server and the CLI use. The graph editor, the status bar and the commands read it;
 * the language server (a separate process) serves the editor features.
 *
 * No `vscode` import: it takes text and a URI string, so unit tests run it in Node.
 */
import { existsSync } from 'node:fs';
import type { LangiumDocument } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { estimatePipeline, type Estimate, type EstimateOptions } from '../engine/estimate';
import type * as ast from '../language/generated/ast';
import { applyMatchingProfiles, type LoadedProfile } from '../engine/calibrate/profile';
import { IssueCodes } from '../language/issue-codes';
import { buildDocument, createSenseServices } from '../language/sense-module';
import type { PipelineSpec } from '../language/pipeline-model';
import { outlineOf, type PipelineOutline, type SourceDiagnostic } from './graph-model';

/** One pipeline of an analysed document. */
export interface AnalysedPipeline {
  name: string;
  node: ast.Pipeline;
  /** The checked pipeline; undefined when it has no usable input or target. */
  spec?: PipelineSpec;
  /** True when the language reported an error inside this pipeline. */
  hasErrors: boolean;
  outline: PipelineOutline;
  /** The engine's estimate; undefined when the pipeline has errors or the estimate failed. */
  estimate?: Estimate;
  /** Why there is no estimate, in a sentence, when there is none. */
  estimateError?: string;
  /** Sources (paths) of the measured device profiles applied to `spec`'s target, in order. */
  profiles?: string[];
}

export type { LoadedProfile };

/** A whole document, analysed. */
export interface Analysis {
  uri: string;
  text: string;
  /** Every diagnostic of the document (the same the language server publishes). */
  diagnostics: SourceDiagnostic[];
  pipelines: AnalysedPipeline[];
}

type Services = ReturnType<typeof createSenseServices>;

/**
 * Analyses `.sense` texts one at a time (Langium's document builder is not reentrant,
 * so calls are queued). One instance per extension host.
 */
export class SenseAnalyzer {
  private services: Services | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private profiles: readonly LoadedProfile[] = [];

  /**
   * Measured device profiles to apply: each replaces its processor's figures in every
   * pipeline whose target is the profile's device (later profiles win for the same
   * processor). Pipelines on other devices are not affected.
   */
  setProfiles(profiles: readonly LoadedProfile[]): void {
    this.profiles = [...profiles];
  }

  /** The measured device profiles applied now (the language server gets the same ones). */
  getProfiles(): readonly LoadedProfile[] {
    return this.profiles;
  }

  /** Parses, checks, lowers and estimates `text` as the document at `uri`. */
  analyse(text: string, uri: string, opts: EstimateOptions = {}): Promise<Analysis> {
    const run = this.queue.then(() => this.run(text, uri, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The names of every device the document can target: the built-ins and its own `device` blocks. */
  async deviceNames(text: string, uri: string): Promise<{ name: string; builtin: boolean }[]> {
    await this.analyse(text, uri);
    const names: { name: string; builtin: boolean }[] = [];
    for (const doc of this.getServices().shared.workspace.LangiumDocuments.all) {
      const own = doc.uri.toString() === uri;
      if (!own && doc.uri.scheme !== 'sense-builtin') continue;
      for (const d of (doc.parseResult.value as ast.Model).devices ?? []) names.push({ name: d.name, builtin: !own });
    }
    return names;
  }

  private getServices(): Services {
    this.services ??= createSenseServices({ ...NodeFileSystem }, { fileExists: (p) => existsSync(p) });
    return this.services;
  }

  private async run(text: string, uri: string, opts: EstimateOptions): Promise<Analysis> {
    const s = this.getServices();
    const document: LangiumDocument<ast.Model> = await buildDocument(s, text, uri);
    const lowering = s.Sense.lowering.Lowering.document(document.parseResult.value);
    const diagnostics: SourceDiagnostic[] = (document.diagnostics ?? []).map((d) => ({
      severity: d.severity,
      code: d.code ?? (d.data as { code?: string } | undefined)?.code,
      message: typeof d.message === 'string' ? d.message : d.message.value,
      range: d.range,
    }));
    const pipelines: AnalysedPipeline[] = [];
    for (const [node, lowered] of lowering.pipelines) {
      const range = node.$cstNode?.range;
      const hasErrors = diagnostics.some(
        (d) => d.severity === 1 && range !== undefined && d.range.start.line >= range.start.line && d.range.start.line <= range.end.line,
      );
      const matched = lowered.spec ? applyMatchingProfiles(lowered.spec, this.profiles) : undefined;
      const spec = matched?.spec;
      const applied = matched?.applied.map((p) => p.source) ?? [];
      const entry: AnalysedPipeline = {
        name: node.name,
        node,
        hasErrors,
        outline: outlineOf(node, spec, text),
        ...(spec ? { spec } : {}),
        ...(applied.length > 0 ? { profiles: applied } : {}),
      };
      for (const message of matched?.errors ?? []) diagnostics.push({ severity: 2, code: IssueCodes.DeviceProfile, message, range: node.$cstNode?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } });
      if (!spec) entry.estimateError = `Pipeline ${node.name} needs an input and a target before it can be estimated.`;
      else if (hasErrors) entry.estimateError = `Pipeline ${node.name} has errors; fix them (see the Problems panel) to see estimates.`;
      else {
        try {
          entry.estimate = estimatePipeline(spec, opts);
        } catch (e) {
          entry.estimateError = `The estimate of ${node.name} failed: ${(e as Error).message}`;
        }
      }
      pipelines.push(entry);
    }
    return { uri, text, diagnostics, pipelines };
  }
}
