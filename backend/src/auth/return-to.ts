/**
 * Where to land after sign-in: only a path on this origin. Anything else (`//evil.example`,
 * `/\evil.example`, `https://evil.example`, `javascript:…`, control characters that browsers strip
 * into `//`) lands on `/`, so the sign-in flow can never be used as an open redirect.
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/'
  if (!value.startsWith('/') || value.startsWith('//')) return '/'
  // Browsers treat "\" as "/" and drop tabs/newlines inside URLs: "/\evil" and "/\t/evil" mean "//evil".
  if (/[\\\s\u0000-\u001f\u007f]/.test(value)) return '/'
  const base = 'http://return-to.invalid'
  let url: URL
  try {
    url = new URL(value, base)
  } catch {
    return '/'
  }
  if (url.origin !== base) return '/'
  // The auth routes themselves are no place to land (a loop back into Google, or a spent link).
  if (url.pathname.startsWith('/api/auth/')) return '/'
  return `${url.pathname}${url.search}${url.hash}`
}
