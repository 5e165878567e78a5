// Preact + hooks + htm in one ES module, served by the daemon from
// vendor/app/node_modules (GET /vendor/...): no bundler, no import map
// (an import map is an inline script, which the CSP forbids).
export * from '/vendor/htm/preact/standalone.module.js?v=3.1.1';
