import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { onUnauthorized } from './api/client'
import { refreshSession, session } from './api/session'

// One chunk per page: each page loads only its own code (Monaco with the projects page, ECharts with the charts).
export const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { title: 'Sign in', public: true } },
  { path: '/', name: 'dashboard', component: () => import('./pages/DashboardPage.vue'), meta: { title: 'Dashboard' } },
  { path: '/environments', name: 'environments', component: () => import('./pages/environments/EnvironmentsPage.vue'), meta: { title: 'Environments' } },
  { path: '/environments/new', name: 'environment-create', component: () => import('./pages/environments/EnvironmentCreatePage.vue'), meta: { title: 'New environment' } },
  { path: '/environments/:name', name: 'environment', component: () => import('./pages/environments/EnvironmentDetailPage.vue'), props: true, meta: { title: 'Environment' } },
  { path: '/tasks', name: 'tasks', component: () => import('./pages/tasks/TasksPage.vue'), meta: { title: 'Tasks' } },
  { path: '/tasks/new', name: 'task-create', component: () => import('./pages/tasks/TaskCreatePage.vue'), meta: { title: 'New task' } },
  { path: '/tasks/:id', name: 'task', component: () => import('./pages/tasks/TaskDetailPage.vue'), props: true, meta: { title: 'Task' } },
  { path: '/projects', name: 'projects', component: () => import('./pages/projects/ProjectsPage.vue'), meta: { title: 'Projects' } },
  { path: '/projects/:name', name: 'project', component: () => import('./pages/projects/ProjectDetailPage.vue'), props: true, meta: { title: 'Project' } },
  { path: '/audit', name: 'audit', component: () => import('./pages/AuditPage.vue'), meta: { title: 'Audit' } },
  { path: '/settings', name: 'settings', component: () => import('./pages/settings/SettingsPage.vue'), meta: { title: 'Settings' } },
  { path: '/orchestrations', name: 'orchestrations', component: () => import('./pages/orchestrations/OrchestrationsPage.vue'), meta: { title: 'Orchestrations' } },
  { path: '/orchestrations/:id', name: 'orchestration', component: () => import('./pages/orchestrations/OrchestrationDetailPage.vue'), props: true, meta: { title: 'Orchestration' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found', public: true } },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
})

router.beforeEach(async (to) => {
  if (!session.checked) await refreshSession()
  if (!to.meta.public && !session.user) return { name: 'login', query: to.fullPath === '/' ? {} : { next: to.fullPath } }
  if (to.name === 'login' && session.user) return { path: typeof to.query.next === 'string' ? to.query.next : '/' }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${String(to.meta.title)} · EnvFabric` : 'EnvFabric'
})

// A session that ended (expired, revoked key) sends the user back to sign in, keeping where they were.
onUnauthorized(() => {
  session.user = null
  const current = router.currentRoute.value
  if (!current.meta.public) void router.push({ name: 'login', query: { next: current.fullPath } })
})
