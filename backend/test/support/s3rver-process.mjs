// Runs s3rver on loopback with one bucket whose CORS lets a browser PUT parts and read ETag.
import S3rver from 's3rver'

const [port, directory, bucket] = process.argv.slice(2)
const cors = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`
const server = new S3rver({
  port: Number(port),
  address: '127.0.0.1',
  directory,
  silent: true,
  configureBuckets: [{ name: bucket, configs: [cors] }],
})
await server.run()
process.on('SIGTERM', () => server.close().then(() => process.exit(0)))
