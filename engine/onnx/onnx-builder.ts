/**
 * A small builder for ONNX graphs over the official schema (onnx.proto compiled by the
 * `onnx-proto` package): nodes, initializers and typed inputs/outputs, serialised with
 * protobufjs. Tensors carry a symbolic batch dimension `N` first.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX IR version written: 8, the newest Debian's python3-onnx 1.12 checker accepts. */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset written: 17 (ONNX 1.12; ONNX Runtime 1.30 runs opsets up to 21+). */
export const ONNX_OPSET = 17;
/** The symbolic batch dimension of every graph input and output. */
export const BATCH_DIM = 'N';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT8: 3, INT64: 7 } as const;

/** An attribute value: a number is an INT unless listed in `floats`; arrays likewise. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** Accumulates one graph's nodes and initializers. */
export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly initializerNames = new Set<string>();
  private counter = 0;

  /** A fresh tensor name starting with `base`. */
  fresh(base: string): string {
    let name = base;
    while (this.names.has(name)) name = `${base}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Adds a node; returns its first output's name. */
  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): string {
    for (const o of outputs) this.names.add(o);
    const attribute = Object.entries(attrs).map(([name, v]) => attr(name, v));
    this.nodes.push({ opType, input: inputs, output: outputs, name: this.fresh(`${opType}_${outputs[0]}`), attribute });
    return outputs[0];
  }

  /** Adds a float32 initializer; returns its name. */
  float(name: string, dims: number[], data: Float32Array | ArrayLike<number>): string {
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    return this.raw(name, DataType.FLOAT, dims, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  }

  /** Adds an int8 initializer. */
  int8(name: string, dims: number[], data: Int8Array): string {
    return this.raw(name, DataType.INT8, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** Adds an int64 initializer (indices, axes, shapes). */
  int64(name: string, dims: number[], data: ArrayLike<number>): string {
    const b = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) b[i] = BigInt(data[i]);
    return this.raw(name, DataType.INT64, dims, new Uint8Array(b.buffer));
  }

  private raw(name: string, dataType: number, dims: number[], bytes: Uint8Array): string {
    if (this.initializerNames.has(name)) throw new Error(`GraphBuilder: initializer name '${name}' is used twice`);
    this.initializerNames.add(name);
    this.names.add(name);
    // ONNX raw_data is little-endian; typed arrays are little-endian on every platform ONNX Runtime ships for.
    this.initializers.push({ name, dataType, dims, rawData: bytes });
    return name;
  }
}

function attr(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

/** A float tensor value with the batch dimension first: `[N, ...shape]`. */
export function valueInfo(name: string, shape: number[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: BATCH_DIM }, ...shape.map((d) => ({ dimValue: d }))] } } },
  };
}

/** Serialises a model of one graph (IR {@link ONNX_IR_VERSION}, opset {@link ONNX_OPSET}). */
export function encodeModel(
  graph: GraphBuilder,
  opts: { name: string; inputs: { name: string; shape: number[] }[]; outputs: { name: string; shape: number[] }[]; doc?: string; metadata?: Record<string, string> },
): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'sense-studio',
    producerVersion: '0.1.0',
    docString: opts.doc ?? '',
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: opts.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: opts.inputs.map((i) => valueInfo(i.name, i.shape)),
      output: opts.outputs.map((o) => valueInfo(o.name, o.shape)),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
