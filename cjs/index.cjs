// tradecore is an ES module; this file answers `require('tradecore')` with how to load it.
const err = new Error("tradecore is an ES module and cannot be loaded with require(): use `import { createEngine } from 'tradecore'`, or from CommonJS `const { createEngine } = await import('tradecore')`");
err.code = 'ERR_REQUIRE_ESM';
throw err;
