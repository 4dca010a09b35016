// Every call of the console goes through the host's public APIs with the session cookie of POST /api/auth/login;
// the console has no powers the API lacks.

/** An API answer other than 2xx, carrying the message the API gave (any of the dialects' error bodies). */
export class ApiError extends Error {
  readonly status: number
  readonly body: unknown
  readonly detail?: string

  constructor(status: number, message: string, body: unknown, detail?: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.body = body
    this.detail = detail
  }
}

/** The message of an error body: seed 000/003 `{message, error}`, seed 001 `{error_code, message}`, seed 002 `{code, message}`. */
export function errorMessage(status: number, body: unknown, statusText = ''): { message: string; detail?: string } {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    const message = typeof b.message === 'string' && b.message.length > 0 ? b.message : undefined
    const detail = typeof b.error === 'string' ? b.error : typeof b.error_code === 'string' ? b.error_code : undefined
    if (message) return { message, detail }
    if (typeof b.title === 'string') return { message: b.title, detail }
  }
  if (typeof body === 'string' && body.trim().length > 0 && body.length < 500) return { message: body.trim() }
  return { message: `HTTP ${status}${statusText ? ' ' + statusText : ''}` }
}

type Listener = () => void
const unauthorizedListeners = new Set<Listener>()

/** Called when any call answers 401: the router sends the user to the sign-in page. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>
  body?: unknown
  signal?: AbortSignal
  headers?: Record<string, string>
  /** Do not report a 401 to the sign-in redirect (the sign-in call itself). */
  quiet401?: boolean
}

export function withQuery(url: string, query?: RequestOptions['query']): string {
  if (!query) return url
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  }
  const s = params.toString()
  return s ? `${url}${url.includes('?') ? '&' : '?'}${s}` : url
}

async function readBody(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? ''
  const text = await response.text()
  if (text.length === 0) return undefined
  if (type.includes('json')) {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

/**
 * A request whose successful response is handed back unread (a stream such as NDJSON, a header such as a
 * continuation token); a failure rejects with {@link ApiError} as {@link request} does.
 */
export async function requestResponse(method: string, url: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  let body: BodyInit | undefined
  if (options.body instanceof FormData || options.body instanceof Blob || typeof options.body === 'string') {
    body = options.body
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let response: Response
  try {
    response = await fetch(withQuery(url, options.query), { method, headers, body, credentials: 'same-origin', signal: options.signal })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError(0, 'The EnvFabric host did not answer (is it running?)', undefined)
  }
  if (!response.ok) {
    const parsed = await readBody(response)
    if (response.status === 401 && !options.quiet401) unauthorizedListeners.forEach((l) => l())
    const { message, detail } = errorMessage(response.status, parsed, response.statusText)
    throw new ApiError(response.status, message, parsed, detail)
  }
  return response
}

/** A request; resolves to the parsed body (JSON or text), rejects with {@link ApiError}. */
export async function request<T = unknown>(method: string, url: string, options: RequestOptions = {}): Promise<T> {
  return (await readBody(await requestResponse(method, url, options))) as T
}

/** A request that resolves to the parsed body and the response headers (paging tokens, Location). */
export async function requestWithHeaders<T = unknown>(method: string, url: string, options: RequestOptions = {}): Promise<{ body: T; headers: Headers; status: number }> {
  const response = await requestResponse(method, url, options)
  return { body: (await readBody(response)) as T, headers: response.headers, status: response.status }
}

export const api = {
  get: <T = unknown>(url: string, options?: RequestOptions) => request<T>('GET', url, options),
  post: <T = unknown>(url: string, body?: unknown, options?: RequestOptions) => request<T>('POST', url, { ...options, body }),
  put: <T = unknown>(url: string, body?: unknown, options?: RequestOptions) => request<T>('PUT', url, { ...options, body }),
  patch: <T = unknown>(url: string, body?: unknown, options?: RequestOptions) => request<T>('PATCH', url, { ...options, body }),
  delete: <T = unknown>(url: string, body?: unknown, options?: RequestOptions) => request<T>('DELETE', url, { ...options, body }),
}

/** The message to show for anything a call threw. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}
