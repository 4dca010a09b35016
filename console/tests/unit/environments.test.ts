import { describe, expect, it } from 'vitest'
import {
  NdjsonSplitter,
  environmentActions,
  exportFileName,
  filterEnvironments,
  isBusy,
  logStreamUrl,
  parseSpecs,
  readNdjson,
} from '../../src/lib/environments'

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c))
      controller.close()
    },
  })
}

describe('NdjsonSplitter', () => {
  it('keeps a line cut between chunks until its end arrives', () => {
    const s = new NdjsonSplitter<{ name: string }>()
    expect(s.push('{"name":"a"}\n{"na')).toEqual([{ name: 'a' }])
    expect(s.push('me":"b"}')).toEqual([])
    expect(s.push('\n\n{"name":"c"}\n')).toEqual([{ name: 'b' }, { name: 'c' }])
    expect(s.end()).toEqual([])
  })

  it('gives the last line without a newline at the end', () => {
    const s = new NdjsonSplitter<number>()
    expect(s.push('1\n2')).toEqual([1])
    expect(s.end()).toEqual([2])
  })

  it('throws on a line that is not JSON', () => {
    expect(() => new NdjsonSplitter().push('{nope\n')).toThrow()
  })
})

describe('readNdjson', () => {
  it('hands every item over, in order, in batches', async () => {
    const lines = Array.from({ length: 250 }, (_, i) => JSON.stringify({ name: `env-${i}` }) + '\n')
    // Chunks that cut lines anywhere, as a network does.
    const text = lines.join('')
    const chunks: string[] = []
    for (let i = 0; i < text.length; i += 37) chunks.push(text.slice(i, i + 37))
    const batches: { name: string }[][] = []
    let clock = 0
    const count = await readNdjson<{ name: string }>(streamOf(chunks), (b) => batches.push(b), 50, () => (clock += 5))
    expect(count).toBe(250)
    expect(batches.flat().map((e) => e.name)).toEqual(lines.map((_, i) => `env-${i}`))
    // The first rows go out at once, the rest in far fewer calls than lines.
    expect(batches[0].length).toBeGreaterThan(0)
    expect(batches.length).toBeLessThan(40)
    expect(batches.length).toBeGreaterThan(1)
  })

  it('calls nothing for an empty body', async () => {
    const batches: unknown[][] = []
    expect(await readNdjson(streamOf([]), (b) => batches.push(b))).toBe(0)
    expect(batches).toEqual([])
  })
})

describe('parseSpecs', () => {
  it('splits lines and commas, keeping a comma of a version range', () => {
    expect(parseSpecs('numpy>=1.20,<2, pandas==2.0.1\nrequests\n\n  rich  ')).toEqual(['numpy>=1.20,<2', 'pandas==2.0.1', 'requests', 'rich'])
  })

  it('drops comments and blank entries', () => {
    expect(parseSpecs('# tools\nblack # formatter\n,,\n')).toEqual(['black'])
  })

  it('keeps markers and extras', () => {
    expect(parseSpecs('uvicorn[standard]>=0.30; python_version >= "3.9"')).toEqual(['uvicorn[standard]>=0.30; python_version >= "3.9"'])
  })

  it('is empty for nothing', () => {
    expect(parseSpecs('  \n ')).toEqual([])
  })
})

describe('environmentActions', () => {
  it('lets a ready environment be changed, renamed and deleted, not reset', () => {
    expect(environmentActions('ready')).toEqual({ install: true, remove: true, rename: true, delete: true, reset: false })
  })

  it('lets a failed one be reset, renamed or deleted', () => {
    expect(environmentActions('failed')).toEqual({ install: false, remove: false, rename: true, delete: true, reset: true })
  })

  it('offers nothing while a build runs or for an unknown status', () => {
    for (const s of ['creating', 'deleting', undefined, null, 'weird']) {
      expect(Object.values(environmentActions(s)).some(Boolean)).toBe(false)
    }
  })

  it('knows the busy statuses', () => {
    expect(isBusy('creating')).toBe(true)
    expect(isBusy('Deleting')).toBe(true)
    expect(isBusy('ready')).toBe(false)
    expect(isBusy(null)).toBe(false)
  })
})

describe('helpers', () => {
  it('filters by name, case-insensitively', () => {
    const items = [{ name: 'ml-Train' }, { name: 'etl' }, { name: 'ML2' }]
    expect(filterEnvironments(items, ' ml ').map((i) => i.name)).toEqual(['ml-Train', 'ML2'])
    expect(filterEnvironments(items, '')).toBe(items)
  })

  it('names the export after the lock file or its kind', () => {
    expect(exportFileName({ name: 'ml', lock_file: 'requirements.lock.txt', lock_kind: 'pip-freeze' })).toBe('ml-requirements.lock.txt')
    expect(exportFileName({ name: 'ml', lock_file: null, lock_kind: 'uv.lock' })).toBe('ml-uv.lock')
    expect(exportFileName({ name: 'ml', lock_file: null, lock_kind: 'conda-explicit' })).toBe('ml-conda-explicit.txt')
    expect(exportFileName({ name: 'ml', lock_file: null, lock_kind: null })).toBe('ml-requirements.txt')
  })

  it('builds the log stream URL', () => {
    expect(logStreamUrl('a b')).toBe('/api/conda/environment/a%20b/logs?stream=true')
    expect(logStreamUrl('ml', 'env-create-1')).toBe('/api/conda/environment/ml/logs?stream=true&operation_id=env-create-1')
  })
})
