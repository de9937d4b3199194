export * from './errors'
export * from './shares'
export * from './blobs'
export * from './rooms'
