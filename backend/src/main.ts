import { holdYoungGeneration } from './memory/young-generation'

// Before anything else is loaded: the young generation stays small from the first allocation on
// (memory/young-generation.ts); serve.ts lets it grow again for a PostgreSQL deployment.
holdYoungGeneration()
await import('./serve')
