// Starts what the browser tests run against: Azurite (unless ENVFABRIC_TEST_STORAGE names one, as ./test does), the
// host and the runner as real processes from their Release builds, on a fresh data root, task hub and table prefix.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = resolve(here, '../../..')
const hostDll = join(repoRoot, 'functions/bin/Release/net10.0/EnvFabric.Functions.dll')
const runnerDll = join(repoRoot, 'container-runner/bin/Release/net10.0/EnvFabric.Runner.dll')
const accountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

export interface Stack {
  baseUrl: string
  masterKey: string
  dataRoot: string
  stop(): Promise<void>
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => ok(port))
    })
  })
}

async function until(what: string, seconds: number, probe: () => Promise<boolean>, alive?: () => string | null): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    const dead = alive?.()
    if (dead) throw new Error(`${what}: ${dead}`)
    if (await probe().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`${what}: not ready after ${seconds} s`)
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); ok(true) })
    socket.once('error', () => ok(false))
  })
}

interface Child { name: string; process: ChildProcess; output: string[] }

function start(name: string, file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Child {
  const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const output: string[] = []
  const keep = (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line) output.push(line)
    if (output.length > 400) output.splice(0, output.length - 400)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return { name, process: child, output }
}

async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  const exited = new Promise<void>((r) => child.process.once('exit', () => r()))
  try { process.kill(-child.process.pid!, 'SIGTERM') } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(-child.process.pid!, 'SIGKILL') } catch { /* gone */ } }, 10_000)
  await exited
  clearTimeout(timer)
}

/** A wheelhouse with one pure-Python wheel, envfabric_demo 1.0 (no package index exists here). */
export function buildWheelhouse(dir: string): string {
  mkdirSync(dir, { recursive: true })
  execFileSync('python3', [join(here, 'make_wheel.py'), dir, 'envfabric_demo', '1.0'])
  return dir
}

export async function startStack(): Promise<Stack> {
  for (const [what, file] of [['host', hostDll], ['runner', runnerDll]]) {
    if (!existsSync(file)) throw new Error(`the ${what} is not built (${file}); run ./test, or dotnet build -c Release`)
  }
  const dataRoot = mkdtempSync(join(tmpdir(), 'envfabric-console-'))
  const children: Child[] = []
  let storage = process.env.ENVFABRIC_TEST_STORAGE ?? ''
  if (!storage) {
    const [blob, queue, table] = [await freePort(), await freePort(), await freePort()]
    const azurite = join(repoRoot, 'infra/node_modules/.bin/azurite')
    if (!existsSync(azurite)) throw new Error('Azurite is not installed: npm ci in infra/ (./test does it)')
    const child = start('azurite', azurite, ['--inMemoryPersistence', '--skipApiVersionCheck', '--loose', '--silent', '--disableTelemetry',
      '--blobHost', '127.0.0.1', '--blobPort', String(blob), '--queueHost', '127.0.0.1', '--queuePort', String(queue),
      '--tableHost', '127.0.0.1', '--tablePort', String(table)], process.env, dataRoot)
    children.push(child)
    for (const p of [blob, queue, table]) await until('azurite', 30, () => portOpen(p))
    storage = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${accountKey};BlobEndpoint=http://127.0.0.1:${blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:${table}/devstoreaccount1;`
  }

  const port = await freePort()
  const masterKey = randomBytes(24).toString('base64url')
  const suffix = randomBytes(4).toString('hex')
  const wheelhouse = buildWheelhouse(join(dataRoot, 'wheelhouse'))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AzureWebJobsStorage: storage,
    DATA_ROOT: join(dataRoot, 'data'),
    PORT: String(port),
    FUNCTIONS_MASTER_KEY: masterKey,
    ENVFABRIC_STORAGE_PREFIX: 'c' + suffix,
    AzureFunctionsJobHost__extensions__durableTask__hubName: 'console' + suffix,
    AzureFunctionsJobHost__extensions__http__rateLimit__requestsPerMinute: '0',
    PIP_NO_INDEX: 'true',
    PIP_FIND_LINKS: wheelhouse,
    ENV_BACKEND: 'venv',
    DEFAULT_PYTHON: '3.11',
    CLEANUP_IDLE_HOURS: '0',
    RUNNER_ID: 'console-' + suffix,
    RUNNER_HEARTBEAT_SECONDS: '1',
    RUNNER_JOB_HEARTBEAT_SECONDS: '1',
    ASPNETCORE_ENVIRONMENT: 'Production',
    // The console as just built (npm run build), without a rebuild of the host to copy it.
    CONSOLE_ROOT: join(repoRoot, 'console/dist'),
  }
  delete env.ASPNETCORE_URLS
  mkdirSync(env.DATA_ROOT!, { recursive: true })
  // The host reads host.json from its working directory, as the Functions host does.
  const host = start('host', 'dotnet', [hostDll], env, repoRoot)
  children.push(host)
  const runner = start('runner', 'dotnet', [runnerDll], env, env.DATA_ROOT!)
  children.push(runner)
  const baseUrl = `http://127.0.0.1:${port}`
  const exited = () => {
    for (const c of [host, runner]) {
      if (c.process.exitCode !== null) return `${c.name} exited with ${c.process.exitCode}:\n${c.output.slice(-40).join('\n')}`
    }
    return null
  }
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c)
    if (process.env.ENVFABRIC_KEEP_DATA !== '1') rmSync(dataRoot, { recursive: true, force: true })
  }
  try {
    // Healthy means storage, the durable worker and a live runner.
    await until('host health', 180, async () => (await fetch(`${baseUrl}/api/health`)).status === 200, exited)
  } catch (e) {
    writeFileSync(join(dataRoot, 'host.log'), host.output.join('\n'))
    await stop()
    throw e
  }
  return { baseUrl, masterKey, dataRoot: env.DATA_ROOT!, stop }
}
