import { reactive } from 'vue'
import { api } from './client'

export interface SessionUser {
  key_name: string
  role: string
  namespace: string
}

interface SessionResponse {
  message: string
  user?: SessionUser | null
}

/** The signed-in key (from GET /api/auth/session), or null. */
export const session = reactive<{ user: SessionUser | null; checked: boolean }>({ user: null, checked: false })

export function isAdmin(): boolean {
  return session.user?.role === 'admin'
}

export async function refreshSession(): Promise<SessionUser | null> {
  try {
    // 200 whether signed in or not, so a first visit logs no failed request.
    const r = await api.get<SessionResponse & { authenticated: boolean }>('/api/auth/session', { quiet401: true })
    session.user = r.authenticated ? (r.user ?? null) : null
  } catch {
    session.user = null
  }
  session.checked = true
  return session.user
}

export async function login(key: string): Promise<SessionUser | null> {
  const r = await api.post<SessionResponse>('/api/auth/login', { key }, { quiet401: true })
  session.user = r.user ?? null
  session.checked = true
  return session.user
}

export async function logout(): Promise<void> {
  try {
    await api.post('/api/auth/logout')
  } finally {
    session.user = null
  }
}
