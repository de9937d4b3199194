import { z } from 'zod'
import { CreatedToken, CreateTokenRequest, TokenId, TokensResponse } from '../tokens'
import { routes } from './route'

/**
 * Personal API tokens. Managing tokens needs the browser session: a token can never make, list or
 * revoke tokens (no scope escalation through a leaked token).
 */
export const tokenRoutes = routes([
  {
    method: 'get', path: '/api/me/tokens', tag: 'API tokens', auth: 'session',
    summary: "The signed-in user's live API tokens (never their secrets)", responses: { 200: TokensResponse }, errors: ['unauthorized'],
  },
  {
    method: 'post', path: '/api/me/tokens', tag: 'API tokens', auth: 'session',
    summary: 'Make an API token (its secret is answered this once)', body: CreateTokenRequest,
    responses: { 201: CreatedToken }, errors: ['unauthorized', 'forbidden', 'token_limit_reached'],
  },
  {
    method: 'delete', path: '/api/me/tokens/:id', tag: 'API tokens', auth: 'session',
    summary: 'Revoke one of the user\'s API tokens (401 for it from then on)', params: z.object({ id: TokenId }),
    responses: { 204: { description: 'revoked' } }, errors: ['unauthorized', 'not_found'],
  },
])
