import { describe, expect, it } from 'vitest'
import {
  CHUNK_SIZE,
  DecryptError,
  FIRST_RECORD_PLAIN,
  MetadataError,
  RECORD_PLAIN,
  ShareKey,
  decryptStream,
  encryptedSize,
  formatKeyToken,
  openMetadata,
  parseKeyToken,
  partCount,
  partLayout,
  plainSizeOf,
  pureJs,
  recordCount,
  recordNonce,
  recordPlainRange,
  sealMetadata,
  sealPart,
  sealPartPieces,
  webCrypto,
  type FileKey,
  type Primitives,
} from './index'
import { hex } from './primitives'
import { pattern, refEncryptFile, refFileKey, refHkdf, refPasswordIkm, refSealMetadata, sha256 } from './reference.test-support'

/**
 * The fixed test vectors of docs/encryption.md ("Test vectors"). Any implementation of format version
 * 1 must reproduce these bytes exactly; both of ours (WebCrypto and pure JS) and an independent
 * reference built on Node's OpenSSL are checked against them.
 */
const V = {
  secret: '000102030405060708090a0b0c0d0e0f',
  token: 'AAECAwQFBgcICQoLDA0ODw',
  metadataKey: '06a8f20511a2eaf89522e5bb4d74df2bed53051fa782f9a73b76cb186100837a',
  fileKey0: 'af450f5b5dc6a794e8d936e962fed6639af385f9cd746d0ae8bfc1408c82cf83',
  fileKey1: '994165b80e9e4b90291fdbb2727e514680b0da44dd4c3058813f11571dab133f',
  password: 'correct horse battery staple',
  passwordSalt: '19192eb6dc079371c7087a4c7f8dd56c',
  passwordIkm: '000102030405060708090a0b0c0d0e0f1abff81333afacdf285edff4733a97abb303b7c0e4b703962abe49a436982d95',
  accessToken: 'bPUWFhR_NMgO_HiAFOqwxKqedmBzbXJ_t52GNtaA0_M',
  passwordFileKey0: 'ce9ee5228e3372c340f3b31d907b810214a8eb0dd0b24b10677b66c9b25f9e38',
  /** file 0, empty */
  empty: '53534501100000000000000000000000976ac2b07e6a142a2fc25f1ff31eb8db',
  /** file 1, "hello" */
  hello: '53534501100000000000000100000000d58edf21d0f5bbfec090e2447b36987c05d521dfc7',
  /** file 0, "hello", password-protected key */
  passwordHello: '53534501100000000000000000000000b4bab1ee7cf58384143755bfea91871ec12d8ffb50',
  /** file 2, 131 124 bytes of pattern(): three records */
  threeRecords: {
    size: 131_188,
    sha256: 'd239cbd06ae3beadb48e25c2e3413b9eaa5d6459f960220c15ba9b97b9a9fae5',
    first48: '5353450110000000000000020000000096a1562bd2290e4f0b6bb3511d4d5ba919dba12d10eeeed795cf0f42162064ca',
    tags: ['78242196c3046cb81e8cc5e2e1cd1838', 'ce7760a998ab74474891225596eed497', '97f9f0d8f586675461797327c348ed75'],
    nonces: ['000000020000000000000000', '000000020000000000000100', '000000020000000000000201'],
  },
  metadataJson:
    '{"v":1,"files":[{"name":"report.pdf","type":"application/pdf"},{"name":"photo é.jpg","type":"image/jpeg"}],"note":"for you"}',
  metadataNonce: '101112131415161718191a1b',
  metadata:
    'U1NNARAREhMUFRYXGBkaG21xASeCEamH_TtT9_nDSU4mmZoVfw43UYxNVU_70kbrKG1npiZlOy6LWAClxpTdPpVcdrhCET9-uRypSN8zGxyxxZgKR8uVXt0PaqM_lw7dG8Z4xochTjz8lAKhcilK7jty7-f6O1wBT8hcBqA9ldQluGgtEvSNAS6fU4i5E4k-D3V9VftaFRq7uKbuOdeBleqRx0UqhdqRBjnV7Dr781pePaxs-cUc5zKRzElkdRV8EENd5mfQ4Q5vFQR_kAZjPViovTVYY85we-B9aJxUW87X_30O5mokMIb50DGyitSm19JXjlqCYELOIAdA57L0OTMqTLhTgX62jJ20BacXzSVaHtQfGeyrlX0_fQc7jTT2',
}

const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))
const secret = bytes(V.secret)
const THREE = FIRST_RECORD_PLAIN + RECORD_PLAIN + 100

/** Encrypts a whole file part by part, as the upload engine does. */
async function encryptWhole(key: FileKey, plain: Uint8Array, partSize = CHUNK_SIZE * 2): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for (let n = 1; n <= partCount(plain.length, partSize); n++) {
    parts.push(await sealPart(key, plain.length, partSize, n, async (s, e) => plain.subarray(s, e)))
  }
  return Buffer.concat(parts)
}

/** Runs bytes through decryptStream in chunks of the given sizes (cycled). */
async function decrypt(key: FileKey, cipher: Uint8Array, opts: { chunks?: number[]; expectedSize?: number; firstRecord?: number } = {}): Promise<{ plain: Uint8Array; emitted: number }> {
  const sizes = opts.chunks ?? [7, 65536, 1000, 200_000, 1]
  let emitted = 0
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      let at = 0
      for (let i = 0; at < cipher.length; i++) {
        const n = sizes[i % sizes.length]!
        c.enqueue(cipher.slice(at, at + n))
        at += n
      }
      c.close()
    },
  })
  const out: Uint8Array[] = []
  const reader = source.pipeThrough(decryptStream(key, { expectedSize: opts.expectedSize, firstRecord: opts.firstRecord })).getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      out.push(value)
      emitted += value.length
    }
  } catch (err) {
    throw Object.assign(err as Error, { emitted })
  }
  return { plain: Buffer.concat(out), emitted }
}

async function decryptFailure(key: FileKey, cipher: Uint8Array, opts: { expectedSize?: number; firstRecord?: number } = {}): Promise<DecryptError & { emitted: number }> {
  try {
    await decrypt(key, cipher, opts)
  } catch (err) {
    expect(err).toBeInstanceOf(DecryptError)
    return err as DecryptError & { emitted: number }
  }
  throw new Error('decrypted although it should not')
}

describe('record layout', () => {
  it('sizes: an empty file is 32 bytes, every 64 KiB chunk holds one record', () => {
    expect(encryptedSize(0)).toBe(32)
    expect(encryptedSize(5)).toBe(37)
    expect(recordCount(FIRST_RECORD_PLAIN)).toBe(1)
    expect(encryptedSize(FIRST_RECORD_PLAIN)).toBe(CHUNK_SIZE)
    expect(recordCount(FIRST_RECORD_PLAIN + 1)).toBe(2)
    expect(encryptedSize(FIRST_RECORD_PLAIN + RECORD_PLAIN)).toBe(2 * CHUNK_SIZE)
    expect(encryptedSize(THREE)).toBe(V.threeRecords.size)
    // The overhead stays at 16 bytes per 64 KiB: 0.025 %.
    expect(encryptedSize(2 ** 30) / 2 ** 30).toBeLessThan(1.00025)
  })

  it('the plaintext size is recovered from any encrypted size, and impossible sizes are refused', () => {
    for (const n of [0, 1, 5, FIRST_RECORD_PLAIN - 1, FIRST_RECORD_PLAIN, FIRST_RECORD_PLAIN + 1, THREE, 10 * 2 ** 20 + 3, 2 ** 40 + 7]) {
      expect(plainSizeOf(encryptedSize(n))).toBe(n)
    }
    for (const bad of [-1, 0, 31, CHUNK_SIZE + 1, CHUNK_SIZE + 15, 1.5, Number.MAX_SAFE_INTEGER + 2]) expect(plainSizeOf(bad)).toBeNull()
  })

  it('parts of a multiple of 64 KiB hold whole records, and together cover the file exactly', () => {
    const size = 5 * CHUNK_SIZE + 12345
    const partSize = 2 * CHUNK_SIZE
    let plainAt = 0
    let cipherTotal = 0
    for (let n = 1; n <= partCount(size, partSize); n++) {
      const p = partLayout(size, partSize, n)
      expect(p.plainStart).toBe(plainAt)
      plainAt = p.plainEnd
      cipherTotal += p.size
    }
    expect(plainAt).toBe(size)
    expect(cipherTotal).toBe(encryptedSize(size))
    expect(() => partLayout(size, 5_000_000, 1)).toThrow(RangeError)
    expect(() => partLayout(size, partSize, 99)).toThrow(RangeError)
  })

  it('nonces carry the file index, the record index (7 bytes) and the last-record flag', () => {
    expect(hex(recordNonce(2, 0, false))).toBe(V.threeRecords.nonces[0])
    expect(hex(recordNonce(2, 2, true))).toBe(V.threeRecords.nonces[2])
    expect(hex(recordNonce(0xffffffff, 2 ** 52 + 3, false))).toBe('ffffffff1000000000000300')
  })
})

describe('link keys', () => {
  it('the fragment holds the secret, and ".p" when a password is needed', () => {
    expect(formatKeyToken(secret, false)).toBe(V.token)
    expect(formatKeyToken(secret, true)).toBe(`${V.token}.p`)
    expect(parseKeyToken(`#${V.token}`)).toEqual({ secret, password: false })
    expect(parseKeyToken(`${V.token}.p`)).toEqual({ secret, password: true })
  })

  it('a fragment that is cut, padded, too long or not base64url is not a key', () => {
    for (const bad of ['', '#', V.token.slice(0, -1), `${V.token}A`, `${V.token}==`, `${V.token}.x`, 'AAECAwQFBgcICQoLDA0OD+', 'AAECAwQFBgcICQoLDA0ODx', ' AAECAwQFBgcICQoLDA0ODw']) {
      expect(parseKeyToken(bad), bad).toBeNull()
    }
  })
})

for (const [name, primitives] of [
  ['WebCrypto', webCrypto()],
  ['pure JS', pureJs()],
] as [string, Primitives][]) {
  describe(`format version 1 with ${name}`, () => {
    const key = ShareKey.fromIkm(secret, null, primitives)

    it('derives the fixed key vectors (HKDF-SHA256)', async () => {
      expect(hex(await primitives.hkdf(secret, new TextEncoder().encode('sharesync/v1/metadata'), 32))).toBe(V.metadataKey)
      expect(hex(await primitives.hkdf(secret, Buffer.concat([Buffer.from('sharesync/v1/file'), Buffer.from([0, 0, 0, 1])]), 32))).toBe(V.fileKey1)
    })

    it('encrypts the fixed file vectors byte for byte', async () => {
      expect(hex(await encryptWhole(await key.fileKey(0), new Uint8Array(0)))).toBe(V.empty)
      expect(hex(await encryptWhole(await key.fileKey(1), new TextEncoder().encode('hello')))).toBe(V.hello)
      const three = await encryptWhole(await key.fileKey(2), pattern(THREE))
      expect(three.length).toBe(V.threeRecords.size)
      expect(sha256(three)).toBe(V.threeRecords.sha256)
      expect(hex(three.subarray(0, 48))).toBe(V.threeRecords.first48)
      expect([CHUNK_SIZE, 2 * CHUNK_SIZE, three.length].map((end) => hex(three.subarray(end - 16, end)))).toEqual(V.threeRecords.tags)
    })

    it('seals and opens the fixed metadata vector', async () => {
      const manifest = JSON.parse(V.metadataJson) as { files: { name: string; type: string }[]; note: string }
      expect(await sealMetadata(key, { files: manifest.files, note: manifest.note }, bytes(V.metadataNonce))).toBe(V.metadata)
      expect(await openMetadata(key, V.metadata)).toEqual({ files: manifest.files, note: 'for you' })
    })

    it('a password-protected key: Argon2id, then the fixed IKM, access token and file bytes', async () => {
      const pw = await ShareKey.derive(secret, V.password, primitives)
      expect(hex(pw.ikm)).toBe(V.passwordIkm)
      expect(pw.accessToken).toBe(V.accessToken)
      expect(hex(await encryptWhole(await pw.fileKey(0), new TextEncoder().encode('hello')))).toBe(V.passwordHello)
      // NFC: the same password typed with a combining accent derives the same key.
      const nfd = await ShareKey.derive(secret, 'caf\u0065\u0301', primitives)
      const nfc = await ShareKey.derive(secret, 'caf\u00e9', primitives)
      expect(hex(nfd.ikm)).toBe(hex(nfc.ikm))
    }, 20_000)

    it('decrypts what it encrypted, whatever the chunking of the stream and the part size', async () => {
      const plain = pattern(7 * CHUNK_SIZE + 999)
      const fk = await key.fileKey(3)
      for (const partSize of [CHUNK_SIZE, 3 * CHUNK_SIZE, 80 * CHUNK_SIZE]) {
        const cipher = await encryptWhole(fk, plain, partSize)
        expect(cipher.length).toBe(encryptedSize(plain.length))
        for (const chunks of [[65536], [65535, 2], [1 << 20], [13, 70_000, 3, 999]]) {
          const out = await decrypt(fk, cipher, { chunks, expectedSize: cipher.length })
          expect(Buffer.compare(out.plain, plain)).toBe(0)
        }
      }
    }, 30_000)

    it('parts encrypted out of order, in parallel, or twice (a re-send) give the same bytes', async () => {
      const plain = pattern(6 * CHUNK_SIZE)
      const fk = await key.fileKey(0)
      const partSize = 2 * CHUNK_SIZE
      const n = partCount(plain.length, partSize)
      const read = async (s: number, e: number) => plain.subarray(s, e)
      const reversed = await Promise.all(
        Array.from({ length: n }, (_, i) => n - i).map(async (p) => [p, await sealPart(fk, plain.length, partSize, p, read)] as const),
      )
      const inOrder = Buffer.concat(reversed.sort((a, b) => a[0] - b[0]).map(([, b]) => b))
      expect(Buffer.compare(inOrder, await encryptWhole(fk, plain, partSize))).toBe(0)
      expect(hex(await sealPart(fk, plain.length, partSize, 2, read))).toBe(hex(reversed.find(([p]) => p === 2)![1]))
      // The pieces (what the web app wraps in a Blob) are the same bytes.
      for (let p = 1; p <= n; p++) {
        const pieces = await sealPartPieces(fk, plain.length, partSize, p, read)
        expect(hex(Buffer.concat(pieces))).toBe(hex(reversed.find(([q]) => q === p)![1]))
      }
    })
  })
}

describe('the independent reference agrees with the vectors', () => {
  it('HKDF, file bytes, metadata and the password derivation', () => {
    const s = Buffer.from(V.secret, 'hex')
    expect(refHkdf(s, 'sharesync/v1/metadata').toString('hex')).toBe(V.metadataKey)
    expect(refFileKey(s, 0).toString('hex')).toBe(V.fileKey0)
    expect(refFileKey(s, 1).toString('hex')).toBe(V.fileKey1)
    expect(refEncryptFile(s, 0, Buffer.alloc(0)).toString('hex')).toBe(V.empty)
    expect(refEncryptFile(s, 1, Buffer.from('hello')).toString('hex')).toBe(V.hello)
    expect(sha256(refEncryptFile(s, 2, pattern(THREE)))).toBe(V.threeRecords.sha256)
    expect(refSealMetadata(s, V.metadataJson, Buffer.from(V.metadataNonce, 'hex'))).toBe(V.metadata)
    const pw = refPasswordIkm(s, V.password)
    expect(pw.salt.toString('hex')).toBe(V.passwordSalt)
    expect(pw.ikm.toString('hex')).toBe(V.passwordIkm)
    expect(pw.access).toBe(V.accessToken)
    expect(refFileKey(pw.ikm, 0).toString('hex')).toBe(V.passwordFileKey0)
  }, 20_000)
})

describe('streams of any shape', () => {
  it('a stream that arrives one byte at a time decrypts (header and records cut everywhere)', async () => {
    const fk = await ShareKey.fromIkm(secret, null).fileKey(5)
    const small = pattern(FIRST_RECORD_PLAIN + 300)
    const out = await decrypt(fk, await encryptWhole(fk, small), { chunks: [1] })
    expect(Buffer.compare(out.plain, small)).toBe(0)
  }, 30_000)
})

describe('a download resumed at a later record (Range from its chunk)', () => {
  const key = ShareKey.fromIkm(secret, null)
  const plain = pattern(4 * CHUNK_SIZE + 500)

  it('decrypts from any record on, to the same bytes as the whole file from there', async () => {
    const fk = await key.fileKey(0)
    const cipher = await encryptWhole(fk, plain)
    for (const first of [1, 2, 4]) {
      const rest = cipher.subarray(first * CHUNK_SIZE)
      const out = await decrypt(fk, rest, { firstRecord: first, expectedSize: rest.length })
      expect(Buffer.compare(out.plain, plain.subarray(recordPlainRange(plain.length, first).start)), `from record ${first}`).toBe(0)
    }
  })

  it('a resume that starts at the wrong chunk, is cut, or comes from another file fails and emits nothing unverified', async () => {
    const fk = await key.fileKey(0)
    const cipher = await encryptWhole(fk, plain)
    // Bytes of record 2 presented as record 1 (an off-by-one Range, or a server that ignored it).
    const shifted = await decryptFailure(fk, cipher.subarray(2 * CHUNK_SIZE), { firstRecord: 1 })
    expect(shifted.kind).toBe('tampered')
    expect(shifted.emitted).toBe(0)
    const cut = cipher.subarray(CHUNK_SIZE, 3 * CHUNK_SIZE)
    expect((await decryptFailure(fk, cut, { firstRecord: 1, expectedSize: cipher.length - CHUNK_SIZE })).kind).toBe('truncated')
    const other = await ShareKey.fromIkm(secret, null).fileKey(1)
    expect((await decryptFailure(other, cipher.subarray(CHUNK_SIZE), { firstRecord: 1 })).kind).toBe('tampered')
    expect(() => decryptStream(fk, { firstRecord: -1 })).toThrow(RangeError)
  })
})

describe('tampering is detected and nothing unverified comes out', () => {
  const key = ShareKey.fromIkm(secret, null)
  const plain = pattern(4 * CHUNK_SIZE + 500)
  const setup = async () => {
    const fk = await key.fileKey(0)
    return { fk, cipher: await encryptWhole(fk, plain) }
  }

  it('a flipped byte in any record fails that record, and no byte of it is emitted', async () => {
    const { fk, cipher } = await setup()
    for (const at of [20, CHUNK_SIZE + 5, 3 * CHUNK_SIZE - 1, cipher.length - 1]) {
      const bad = new Uint8Array(cipher)
      bad[at]! ^= 0x01
      const err = await decryptFailure(fk, bad)
      expect(err.kind).toBe('tampered')
      expect(err.record).toBe(Math.floor(at / CHUNK_SIZE))
      // Only the records before the damaged one came out.
      expect(err.emitted).toBeLessThanOrEqual(err.record * RECORD_PLAIN)
    }
  })

  it('a file cut at a record boundary or inside a record is reported as truncated', async () => {
    const { fk, cipher } = await setup()
    for (const cut of [2 * CHUNK_SIZE, 3 * CHUNK_SIZE, CHUNK_SIZE + 100, 10, 0]) {
      const err = await decryptFailure(fk, cipher.subarray(0, cut))
      expect(err.kind, `cut at ${cut}`).toMatch(/truncated|tampered/)
      if (cut % CHUNK_SIZE === 0) expect(err.kind).toBe('truncated')
    }
    // Knowing the size, any cut is a cut.
    expect((await decryptFailure(fk, cipher.subarray(0, CHUNK_SIZE + 100), { expectedSize: cipher.length })).kind).toBe('truncated')
  })

  it('two swapped records, a record repeated, or extra bytes appended are refused', async () => {
    const { fk, cipher } = await setup()
    const swapped = new Uint8Array(cipher)
    swapped.set(cipher.subarray(2 * CHUNK_SIZE, 3 * CHUNK_SIZE), CHUNK_SIZE)
    swapped.set(cipher.subarray(CHUNK_SIZE, 2 * CHUNK_SIZE), 2 * CHUNK_SIZE)
    expect((await decryptFailure(fk, swapped)).kind).toBe('tampered')
    const repeated = Buffer.concat([cipher.subarray(0, 2 * CHUNK_SIZE), cipher.subarray(CHUNK_SIZE)])
    expect((await decryptFailure(fk, repeated)).kind).toBe('tampered')
    const longer = Buffer.concat([cipher, Buffer.from('more')])
    expect((await decryptFailure(fk, longer)).kind).toBe('tampered')
    expect((await decryptFailure(fk, longer, { expectedSize: cipher.length })).kind).toBe('too_long')
  })

  it('the wrong key, another file of the share, or another format is refused', async () => {
    const { cipher } = await setup()
    const other = ShareKey.fromIkm(bytes('ff0102030405060708090a0b0c0d0e0f'), null)
    const wrong = await decryptFailure(await other.fileKey(0), cipher)
    expect(wrong.kind).toBe('tampered')
    expect(wrong.emitted).toBe(0)
    expect((await decryptFailure(await key.fileKey(1), cipher)).kind).toBe('wrong_file')
    const plainFile = new Uint8Array(pattern(1000))
    expect((await decryptFailure(await key.fileKey(0), plainFile)).kind).toBe('not_encrypted')
    const newer = new Uint8Array(cipher)
    newer[3] = 2
    expect((await decryptFailure(await key.fileKey(0), newer)).kind).toBe('unsupported_version')
  })

  it('the metadata envelope: a wrong key or password, a flipped byte or garbage is refused clearly', async () => {
    const other = ShareKey.fromIkm(bytes('ff0102030405060708090a0b0c0d0e0f'), null)
    await expect(openMetadata(other, V.metadata)).rejects.toMatchObject({ kind: 'wrong_key' })
    const flipped = (V.metadata[0] === 'U' ? 'U' : '') + V.metadata.slice(1, 40) + (V.metadata[40] === 'A' ? 'B' : 'A') + V.metadata.slice(41)
    await expect(openMetadata(key, flipped)).rejects.toBeInstanceOf(MetadataError)
    for (const garbage of ['', 'x', '%%%', 'U1NNAg' + 'A'.repeat(60), 'A'.repeat(1000)]) {
      await expect(openMetadata(key, garbage)).rejects.toBeInstanceOf(MetadataError)
    }
  })

  it('a manifest without files, with an empty name or a newer version is refused', async () => {
    const seal = async (json: string) => refSealMetadata(Buffer.from(V.secret, 'hex'), json, Buffer.alloc(12))
    await expect(openMetadata(key, await seal('{"v":1}'))).rejects.toMatchObject({ kind: 'malformed' })
    await expect(openMetadata(key, await seal('{"v":1,"files":[{"name":"","type":""}]}'))).rejects.toMatchObject({ kind: 'malformed' })
    await expect(openMetadata(key, await seal('{"v":2,"files":[]}'))).rejects.toMatchObject({ kind: 'unsupported_version' })
    await expect(openMetadata(key, await seal('not json'))).rejects.toMatchObject({ kind: 'malformed' })
    // Unknown fields are for later versions: ignored.
    expect(await openMetadata(key, await seal('{"v":1,"files":[{"name":"a","type":"","mtime":1}],"x":true}'))).toEqual({ files: [{ name: 'a', type: '' }] })
  })
})
