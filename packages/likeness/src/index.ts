export { createApp } from './api/app.ts';
export { PROBLEM_TYPES, Problem } from './api/problem.ts';
export { type Config, loadConfig } from './config.ts';
export { buildServices, type RunningServer, startServer } from './server.ts';
