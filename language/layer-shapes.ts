/**
 * Shape inference and static costs of one layer: output shape, parameter count and
 * multiply-accumulates, from its configuration and input shape. Shapes exclude the
 * batch and are channels-first (`[C, L]` sequences, `[C, H, W]` images). The formulas
 * follow ONNX's operators (Gemm/MatMul, Conv, MaxPool/AveragePool, BatchNormalization,
 * GRU, LSTM), which is what export produces.
 */
import type { LayerConfig, LayerKind, LayerSpec, Shape } from './pipeline-model';

/** Bytes per float32 element. */
export const FLOAT32_BYTES = 4;

/** The inferred output of a layer, or a message saying why its input does not fit. */
export type LayerShapeResult =
  | { ok: true; outputShape: Shape; params: number; macs: number }
  | { ok: false; message: string };

/** The layer kinds a `compress` line may compress: those whose weights are one matrix (dense, conv1d, conv2d). */
export type CompressibleKind = Extract<LayerKind, 'dense' | 'conv1d' | 'conv2d'>;

/** Whether a `compress` line may compress a layer of this kind: it has one weight matrix to factorise or quantise. */
export function isCompressible<L extends Pick<LayerConfig, 'kind'>>(layer: L): layer is L & { kind: CompressibleKind } {
  return layer.kind === 'dense' || layer.kind === 'conv1d' || layer.kind === 'conv2d';
}

/** Why a `compress` line cannot name `layer`, for the diagnostic and the studio's refusals alike. */
export function notCompressibleMessage(layer: Pick<LayerSpec, 'id' | 'kind'>): string {
  return `${layer.id} is a ${layer.kind} layer; only dense, conv1d and conv2d layers have weights to compress.`;
}

/**
 * The (out, in) matrix a compressible layer's weights reshape to: a dense layer's
 * (units, input width); a conv kernel's (filters, input channels x kernel elements), the
 * matrix an SVD factorises and int8 quantises per output row.
 */
export function weightMatrixShape(layer: Pick<LayerSpec, 'kind' | 'units' | 'filters' | 'kernel' | 'inputShape'>): [number, number] {
  if (layer.kind === 'dense') return [layer.units ?? 1, layer.inputShape[layer.inputShape.length - 1] ?? 1];
  const k = (layer.kernel ?? [1]).reduce((a, b) => a * b, 1);
  return [layer.filters ?? 1, (layer.inputShape[0] ?? 1) * k];
}

/**
 * The smallest rank at which an SVD of an (out x in) matrix stops saving parameters:
 * k (out + in) + out >= out in + out, so k >= out in / (out + in), rounded up (rank 62 of
 * a 64 x 3920 matrix still saves).
 */
export function svdBreakEvenRank(outWidth: number, inWidth: number): number {
  return Math.ceil((outWidth * inWidth) / (outWidth + inWidth));
}

/** Formats a shape as the messages and hovers show it: `[40, 98]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Output length of a convolution or pool along one axis; ONNX's formula for explicit padding. */
function convLength(length: number, kernel: number, stride: number, padding: 'same' | 'valid'): number {
  if (padding === 'same') return Math.ceil(length / stride);
  return Math.floor((length - kernel) / stride) + 1;
}

const RECURRENT_GATES = { gru: 3, lstm: 4 } as const;

/** Infers output shape, parameters and MACs of `layer` applied to `input`. */
export function inferLayer(layer: LayerConfig, input: Shape): LayerShapeResult {
  const n = elementCount(input);
  switch (layer.kind) {
    case 'dense': {
      const units = layer.units ?? 0;
      if (input.length === 0) return { ok: false, message: 'dense needs an input with at least one dimension.' };
      // Like ONNX MatMul, dense acts on the last axis; leading axes are batched.
      const inWidth = input[input.length - 1];
      const lead = n / inWidth;
      return {
        ok: true,
        outputShape: [...input.slice(0, -1), units],
        params: inWidth * units + units,
        macs: lead * inWidth * units + (layer.activation ? lead * units : 0),
      };
    }
    case 'conv1d':
    case 'conv2d': {
      const spatial = layer.kind === 'conv1d' ? 1 : 2;
      if (input.length !== spatial + 1) {
        const want = spatial === 1 ? '[channels, length]' : '[channels, height, width]';
        return { ok: false, message: `${layer.kind} expects ${want}, got ${formatShape(input)}.` };
      }
      const kernel = layer.kernel ?? [1];
      const k = spatial === 1 ? [kernel[0]] : [kernel[0], kernel[1] ?? kernel[0]];
      const stride = layer.stride ?? 1;
      const padding = layer.padding ?? 'valid';
      const outSpatial = input.slice(1).map((len, i) => convLength(len, k[i], stride, padding));
      if (outSpatial.some((len) => len < 1)) {
        return {
          ok: false,
          message: `${layer.kind} kernel ${k.join('x')} does not fit input ${formatShape(input)} (output would be empty).`,
        };
      }
      const filters = layer.filters ?? 0;
      const channels = input[0];
      const kernelSize = k.reduce((a, b) => a * b, 1);
      const outPositions = outSpatial.reduce((a, b) => a * b, 1);
      return {
        ok: true,
        outputShape: [filters, ...outSpatial],
        params: filters * channels * kernelSize + filters,
        macs: filters * channels * kernelSize * outPositions + (layer.activation ? filters * outPositions : 0),
      };
    }
    case 'maxpool':
    case 'avgpool': {
      if (input.length < 2 || input.length > 3) {
        return { ok: false, message: `${layer.kind} expects [channels, length] or [channels, height, width], got ${formatShape(input)}.` };
      }
      if (layer.global) return { ok: true, outputShape: [input[0]], params: 0, macs: n };
      const spatial = input.length - 1;
      const size = layer.poolSize ?? [2];
      const k = spatial === 1 ? [size[0]] : [size[0], size[1] ?? size[0]];
      const stride = layer.stride ?? k[0];
      const outSpatial = input.slice(1).map((len, i) => convLength(len, k[i], stride, layer.padding ?? 'valid'));
      if (outSpatial.some((len) => len < 1)) {
        return { ok: false, message: `${layer.kind} window ${k.join('x')} does not fit input ${formatShape(input)}.` };
      }
      const out = [input[0], ...outSpatial];
      return { ok: true, outputShape: out, params: 0, macs: elementCount(out) * k.reduce((a, b) => a * b, 1) };
    }
    case 'batchnorm': {
      // Scale, bias, running mean and running variance per channel (axis 0).
      const channels = input.length === 0 ? 1 : input[0];
      return { ok: true, outputShape: input, params: 4 * channels, macs: n };
    }
    case 'dropout':
      return { ok: true, outputShape: input, params: 0, macs: 0 };
    case 'flatten':
      return { ok: true, outputShape: [n], params: 0, macs: 0 };
    case 'gru':
    case 'lstm': {
      if (input.length !== 2) {
        return { ok: false, message: `${layer.kind} expects a sequence [features, steps], got ${formatShape(input)}.` };
      }
      const [features, steps] = input;
      const units = layer.units ?? 0;
      const gates = RECURRENT_GATES[layer.kind];
      // ONNX GRU/LSTM weights: W [gates*units, features], R [gates*units, units], B [2*gates*units].
      const params = gates * units * (features + units) + 2 * gates * units;
      return {
        ok: true,
        outputShape: layer.sequences ? [units, steps] : [units],
        params,
        macs: steps * gates * units * (features + units),
      };
    }
    case 'activation':
      return { ok: true, outputShape: input, params: 0, macs: n };
  }
}
