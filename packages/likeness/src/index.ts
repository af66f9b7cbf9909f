export { createApp } from './api/app.ts';
export { Problem, PROBLEM_TYPES } from './api/problem.ts';
export { type Config, loadConfig } from './config.ts';
export { startServer, buildServices, type RunningServer } from './server.ts';
