export { createApp } from './api/app.ts';
export { type Config, loadConfig } from './config.ts';
export { PROBLEM_TYPES, Problem } from './errors.ts';
export { buildServices, type RunningServer, startServer } from './server.ts';
