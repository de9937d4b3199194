import type { ClaimSharesRequest, ClaimSharesResponse, Me, MyShare, MySharesResponse, UpdateMyShareRequest } from '@sharesync/protocol'
import { api, ApiError } from '../../lib/api'

const enc = encodeURIComponent

/** Typed calls of the account API (API.md): the signed-in user, sign-out and "My shares". */
export const authApi = {
  /** The signed-in user, or null when signed out (401). */
  me: async (): Promise<Me | null> => {
    try {
      return await api<Me>('/api/me')
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null
      throw err
    }
  },
  logout: () => api<void>('/api/auth/logout', { method: 'POST' }),
  myShares: async (): Promise<MyShare[]> => (await api<MySharesResponse>('/api/me/shares')).shares,
  deleteShare: (id: string) => api<void>(`/api/me/shares/${enc(id)}`, { method: 'DELETE' }),
  changeExpiry: (id: string, body: UpdateMyShareRequest) => api<MyShare>(`/api/me/shares/${enc(id)}`, { method: 'PATCH', body }),
  claim: (shares: ClaimSharesRequest['shares']) => api<ClaimSharesResponse>('/api/me/shares/claim', { method: 'POST', body: { shares } }),
}

/**
 * Sign-in is a full-page navigation (Google, or the OpenID Connect provider `provider`); the server
 * only honours same-origin paths in returnTo.
 */
export function signInUrl(returnTo?: string, provider?: string): string {
  if (returnTo === undefined) {
    // Back to this page after sign-in, minus the error of a previous attempt.
    const search = new URLSearchParams(window.location.search)
    search.delete('signin_error')
    const query = search.toString()
    returnTo = `${window.location.pathname}${query ? `?${query}` : ''}`
  }
  return `${provider ? `/api/auth/oidc/${enc(provider)}` : '/api/auth/google'}?returnTo=${enc(returnTo)}`
}
