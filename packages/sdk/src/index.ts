export { createLikenessClient, type LikenessClient } from './generated/client.ts';
export type { components, operations, paths } from './generated/schema.ts';
export { type ClientOptions, LikenessError, type Problem } from './runtime.ts';
