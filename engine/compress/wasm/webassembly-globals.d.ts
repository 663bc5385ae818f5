/**
 * The part of Node's `WebAssembly` global that the engine and its tests use. Node has had
 * the whole global since version 8, but @types/node 20 does not declare it and TypeScript
 * declares it only in its DOM library, which the Node side of the project does not load
 * (tsconfig.json; the DOM lib belongs to webview/ and the browser tests). The signatures
 * are TypeScript's own (lib.dom.d.ts), cut to what is used here.
 */
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  const Memory: {
    prototype: Memory;
    new (descriptor: MemoryDescriptor): Memory;
  };
  // A compiled module is opaque to JavaScript, so its interface is empty (as in lib.dom.d.ts).
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Module {}
  const Module: {
    prototype: Module;
    new (bytes: BufferSource): Module;
  };
  type Exports = Record<string, unknown>;
  type ImportValue = Memory | ((...args: never[]) => unknown) | number;
  type ModuleImports = Record<string, ImportValue>;
  type Imports = Record<string, ModuleImports>;
  interface Instance {
    readonly exports: Exports;
  }
  const Instance: {
    prototype: Instance;
    new (module: Module, importObject?: Imports): Instance;
  };
  function validate(bytes: BufferSource): boolean;
}
