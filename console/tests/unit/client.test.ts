import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, errorMessage, onUnauthorized, request, withQuery } from '../../src/api/client'

describe('errorMessage', () => {
  it('takes the message of each dialect as given', () => {
    expect(errorMessage(404, { success: false, message: 'Environment not found', error: 'ENV_NOT_FOUND' })).toEqual({ message: 'Environment not found', detail: 'ENV_NOT_FOUND' })
    expect(errorMessage(423, { error_code: 'ENV_LOCKED', message: 'Environment is locked' })).toEqual({ message: 'Environment is locked', detail: 'ENV_LOCKED' })
    expect(errorMessage(400, { code: '1001', message: '参数错误', success: false, data: null })).toEqual({ message: '参数错误', detail: undefined })
  })

  it('falls back to the status when the body says nothing', () => {
    expect(errorMessage(502, undefined, 'Bad Gateway').message).toBe('HTTP 502 Bad Gateway')
    expect(errorMessage(500, { message: '' }).message).toBe('HTTP 500')
    expect(errorMessage(503, 'upstream down').message).toBe('upstream down')
  })
})

describe('withQuery', () => {
  it('leaves out empty values and appends to an existing query', () => {
    expect(withQuery('/api/audit', { operation: 'create', ip: '', from: undefined, limit: 50 })).toBe('/api/audit?operation=create&limit=50')
    expect(withQuery('/x?a=1', { b: true })).toBe('/x?a=1&b=true')
    expect(withQuery('/x', {})).toBe('/x')
  })
})

describe('request', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('rejects with the API message and reports a 401', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ success: false, message: 'Please log in' }), { status: 401, headers: { 'content-type': 'application/json' } })))
    const seen = vi.fn()
    const off = onUnauthorized(seen)
    const error = await request('GET', '/api/tasks').catch((e: unknown) => e)
    off()
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).message).toBe('Please log in')
    expect((error as ApiError).status).toBe(401)
    expect(seen).toHaveBeenCalledOnce()
  })

  it('sends JSON and parses JSON, text stays text', async () => {
    const fetchMock = vi.fn(async (_url: string, init?: RequestInit) => {
      expect(init?.headers).toMatchObject({ 'Content-Type': 'application/json' })
      expect(init?.body).toBe('{"a":1}')
      return new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' } })
    })
    vi.stubGlobal('fetch', fetchMock)
    expect(await request('POST', '/x', { body: { a: 1 } })).toEqual({ ok: true })
    vi.stubGlobal('fetch', vi.fn(async () => new Response('plain', { status: 200, headers: { 'content-type': 'text/plain' } })))
    expect(await request('GET', '/y')).toBe('plain')
  })

  it('says the host did not answer when the network fails', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch') }))
    await expect(request('GET', '/z')).rejects.toThrow('The EnvFabric host did not answer (is it running?)')
  })
})
