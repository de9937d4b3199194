export * from './errors'
export * from './shares'
