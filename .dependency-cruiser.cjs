/**
 * The floors of the house (npm test runs this): no import cycles; domain code never imports the HTTP layer;
 * transports know nothing of sessions, tenants or billing. `npm run deps` prints the violations.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Import cycles make the floors of the house unreadable and initialisation order fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-does-not-import-http',
      severity: 'error',
      comment: 'Only the API layer and the composition root (server, index) know HTTP.',
      from: {
        path: '^packages/likeness/src/',
        pathNot: '^packages/likeness/src/(api/|server\\.ts$|index\\.ts$)',
      },
      to: { path: '^packages/likeness/src/api/' },
    },
    {
      name: 'transport-knows-no-policy',
      severity: 'error',
      comment: 'Transports move media; sessions, tenants and usage are policy above them.',
      from: { path: '^packages/likeness/src/transport/' },
      to: { path: '^packages/likeness/src/(sessions|tenancy|usage|api|characters)/' },
    },
    {
      name: 'no-services-hub-below-api',
      severity: 'error',
      comment: 'Domain code takes its dependencies explicitly, not the whole Services bag.',
      from: {
        path: '^packages/likeness/src/',
        pathNot: '^packages/likeness/src/(api/|server\\.ts$|index\\.ts$|services\\.ts$)',
      },
      to: { path: '^packages/likeness/src/services\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
