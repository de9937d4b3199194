/**
 * @sharesync/crypto — end-to-end encryption of cloud links, format version 1 (docs/encryption.md).
 * Runs wherever WebCrypto or plain JavaScript runs: the web app, Node (the CLI), workers.
 */
export * from './format'
export * from './keys'
export * from './metadata'
export * from './records'
export { AuthenticationError, base64url, defaultPrimitives, fromBase64url, pureJs, webCrypto, type AeadKey, type Bytes, type Primitives } from './primitives'
