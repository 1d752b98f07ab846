/**
 * keyport's layers (README, "Layout"), checked by `npm run lint` in CI. Arrows point down only:
 *
 *   composition   src/{keyport,app,main,services,workers}.ts     (only cli/ may import these)
 *   surfaces      oidc/ admin/ keys-api/ dashboard/ share-pages/ console/ cli/   (never each other)
 *   web/          HTML shell and helpers, CSRF, page headers, static files
 *   access/ verification/
 *   jobs/         background sweeps of a server process (started and stopped by composition)
 *   domain        clients/ teams/ limits/ shares/ events/ audit/ staff/ (no Koa, no oidc-provider)
 *   observability/
 *   persistence/  SQL, dialects, Redis, the oidc adapter, key files: implements the domain's store interfaces
 *   base          config.ts errors.ts names.ts parent-watch.ts clock.ts unit-of-work.ts batch.ts
 */
const SURFACES = '(oidc|admin|keys-api|dashboard|share-pages|console|cli)';
const DOMAIN = '(clients|teams|limits|shares|events|audit|staff)';
const BELOW_SURFACES = `(web|access|verification|${DOMAIN.slice(1, -1)}|observability|persistence)`;
const COMPOSITION = '^src/(keyport|app|main|services|workers)\\.ts$';
const BASE = '^src/(config|errors|names|parent-watch|clock|unit-of-work|batch)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle, between files or folders.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'composition-is-the-top',
      severity: 'error',
      comment: 'Only the CLI (serve) and the composition files themselves import the composition files.',
      from: { pathNot: [COMPOSITION, '^src/cli/'] },
      to: { path: COMPOSITION },
    },
    {
      name: 'surfaces-stay-apart',
      severity: 'error',
      comment: 'A surface may use web/, access/, verification/ and the domain, never another surface.',
      from: { path: `^src/${SURFACES}/` },
      to: { path: `^src/${SURFACES}/`, pathNot: '^src/$1/' },
    },
    {
      name: 'nothing-below-imports-a-surface',
      severity: 'error',
      from: { path: [`^src/${BELOW_SURFACES}/`, BASE] },
      to: { path: [`^src/${SURFACES}/`, COMPOSITION] },
    },
    {
      name: 'domain-is-not-web',
      severity: 'error',
      comment: 'The domain knows no HTTP: no web/, access/ or verification/, no Koa, no oidc-provider.',
      from: { path: `^src/${DOMAIN}/` },
      to: { path: ['^src/(web|access|verification)/', '(^|/)node_modules/(koa|koa-mount|@koa/[^/]+|oidc-provider)/'] },
    },
    {
      name: 'domain-has-no-driver',
      severity: 'error',
      comment: 'Store interfaces live in the domain; knex, Redis and SQL drivers only in persistence/.',
      from: { path: `^src/${DOMAIN}/` },
      to: { path: '(^|/)node_modules/(knex|ioredis|mysql2|better-sqlite3|pg)/' },
    },
    {
      name: 'domain-owns-its-stores',
      severity: 'error',
      comment: 'The domain asks for stores by interface; composition hands it the SQL or Redis implementation.',
      from: { path: [`^src/${DOMAIN}/`, '^src/(access|verification)/'] },
      to: { path: '^src/persistence/' },
    },
    {
      name: 'persistence-implements-the-domain',
      severity: 'error',
      comment: 'persistence/ implements domain interfaces (hydra persistence/sql imports client/); it knows no HTTP.',
      from: { path: '^src/persistence/' },
      to: { path: '^src/(web|access|verification|observability)/' },
    },
    {
      name: 'web-is-plain',
      severity: 'error',
      comment: 'web/ is HTML and HTTP helpers for every surface: it imports only the base files.',
      from: { path: '^src/web/' },
      to: { path: '^src/', pathNot: ['^src/web/', BASE] },
    },
    {
      name: 'jobs-run-below-the-surfaces',
      severity: 'error',
      comment: 'jobs/ sweeps with the domain, persistence, observability and base; never HTTP or a surface.',
      from: { path: '^src/jobs/' },
      to: { path: '^src/', pathNot: ['^src/jobs/', `^src/${DOMAIN}/`, '^src/(observability|persistence)/', BASE] },
    },
    {
      name: 'only-composition-starts-jobs',
      severity: 'error',
      from: { path: '^src/', pathNot: [COMPOSITION, '^src/jobs/'] },
      to: { path: '^src/jobs/' },
    },
    {
      name: 'base-is-the-bottom',
      severity: 'error',
      from: { path: BASE },
      to: { path: '^src/', pathNot: BASE },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { dot: { collapsePattern: '^src/[^/]+/' } },
  },
};
