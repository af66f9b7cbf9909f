/** Types for memory-wasi.mjs (plain JS so the Flite process starts without a TypeScript loader). */
export interface WasiRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Files the program created under /out, by name. */
  files: Map<string, Uint8Array>;
}
export interface WasiOptions {
  maxOutputBytes?: number;
}
export function prepareWasiCommand(
  module: WebAssembly.Module,
  opts?: WasiOptions,
): Promise<{ run(args: string[]): WasiRun }>;
