/**
 * Validation checks, registered per AST node type with Langium's ValidationRegistry as
 * in Langium's examples: each pipeline and device reports the issues its lowering found
 * (lowering checks units, shapes and references across a whole pipeline, so the checks
 * live there and are reported here), a pipeline also the estimator's fit warnings, and
 * a `weights` line whether its file exists.
 */
import { AstUtils, type AstNode, type ValidationAcceptor, type ValidationChecks } from 'langium';
import * as ast from './generated/ast';
import { BUILTIN_DEVICES_URI } from './builtin-devices';
import type { EstimateIssue } from './estimator';
import { IssueCodes } from './issue-codes';
import type { LoweringIssue } from './lower';
import type { SenseServices } from './sense-module';

/** Registers the Sense checks with the services' validation registry. */
export function registerValidationChecks(services: SenseServices): void {
  const registry = services.validation.ValidationRegistry;
  const validator = services.validation.SenseValidator;
  const checks: ValidationChecks<ast.SenseAstType> = {
    Device: validator.checkDevice,
    Pipeline: validator.checkPipeline,
    Weights: validator.checkWeights,
  };
  registry.register(checks, validator);
}

/** The Sense checks; each takes one node of its type and reports through `accept`. */
export class SenseValidator {
  constructor(private readonly services: SenseServices) {}

  /** Reports what lowering found in a device declared in the workspace (the built-in library's are covered by tests, not shown to users). */
  checkDevice(device: ast.Device, accept: ValidationAcceptor): void {
    if (AstUtils.getDocument(device).uri.toString() === BUILTIN_DEVICES_URI) return;
    reportLoweringIssues(this.services.lowering.Lowering.device(device).issues, accept);
  }

  /** Reports what lowering found in a pipeline, then the estimator's warnings (memory fit, latency budget) on the layer, `optimize` line or target at fault. */
  checkPipeline(pipeline: ast.Pipeline, accept: ValidationAcceptor): void {
    const lowering = this.services.lowering.Lowering.document(pipeline.$container);
    const lowered = lowering.pipelines.get(pipeline);
    if (!lowered) return;
    reportLoweringIssues(lowered.issues, accept);
    const estimate = lowering.estimates.get(pipeline);
    if (!estimate || estimate.issues.length === 0) return;
    // One map per pipeline: a lookup per issue would be quadratic on large pipelines.
    const nodeOfLayer = new Map([...lowered.layerOf].map(([node, spec]) => [spec.id, node]));
    for (const issue of estimate.issues) {
      const layer = issue.layerId ? nodeOfLayer.get(issue.layerId) : undefined;
      if (layer) accept(issue.severity, issue.message, { node: layer, code: issue.code });
      else reportOnPipeline(pipeline, issue, accept);
    }
  }

  /** Warns when a `weights` file does not exist (only for documents on disk). */
  checkWeights(weights: ast.Weights, accept: ValidationAcceptor): void {
    const path = weights.path;
    const doc = AstUtils.getDocument(weights);
    if (doc.uri.scheme !== 'file') return;
    const base = doc.uri.fsPath.replace(/[\\/][^\\/]*$/, '');
    const full = /^([\\/]|[A-Za-z]:)/.test(path) ? path : `${base}/${path}`;
    if (!this.services.files.fileExists(full)) {
      accept('warning', `Weights file '${path}' does not exist (looked for ${full}); run 'sense init-weights' or train the pipeline to create it.`, {
        node: weights,
        property: 'path',
        code: IssueCodes.MissingWeightsFile,
      });
    }
  }
}

/** An estimate issue without a layer goes on the `optimize` line (budget) or the target, else on the pipeline's name. */
function reportOnPipeline(pipeline: ast.Pipeline, issue: EstimateIssue, accept: ValidationAcceptor): void {
  const onLine = issue.code === IssueCodes.LatencyBudget ? pipeline.optimizations[0] : pipeline.targets[0];
  if (onLine) accept(issue.severity, issue.message, { node: onLine, code: issue.code });
  else accept(issue.severity, issue.message, { node: pipeline, property: 'name', code: issue.code });
}

/**
 * Reports lowering issues. Their property names were checked against their node's type
 * where lowering made them (lower.ts); the node's type is not known here, hence the cast.
 */
function reportLoweringIssues(issues: readonly LoweringIssue[], accept: ValidationAcceptor): void {
  for (const i of issues) {
    accept<AstNode>(i.severity, i.message, { node: i.node, property: i.property, index: i.index, code: i.code });
  }
}
