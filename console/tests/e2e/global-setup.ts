import type { TestProject } from 'vitest/node'
import { startStack, type Stack } from './stack'

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string
    masterKey: string
    dataRoot: string
  }
}

let stack: Stack | undefined

export async function setup(project: TestProject) {
  stack = await startStack()
  project.provide('baseUrl', stack.baseUrl)
  project.provide('masterKey', stack.masterKey)
  project.provide('dataRoot', stack.dataRoot)
}

export async function teardown() {
  await stack?.stop()
}
