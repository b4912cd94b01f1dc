import {
  type ComponentName,
  freePort,
  type RunningComponent,
  repositoryRoot,
  spawnCollecting,
  startComponent,
  waitForOk
} from "../../test/support/Processes.ts"

export { freePort, repositoryRoot }

export interface BenchProcess {
  readonly name: string
  readonly url: string
  readonly pid: number
  readonly output: () => string
  readonly stop: () => Promise<unknown>
  readonly pause: () => void
  readonly resume: () => void
}

const fromComponent = (name: string, running: RunningComponent): BenchProcess => ({
  name,
  url: running.url,
  pid: running.child.pid!,
  output: running.output,
  stop: () => running.stop("SIGTERM"),
  pause: () => running.child.kill("SIGSTOP"),
  resume: () => running.child.kill("SIGCONT")
})

/** One service as its own process, as `npm run start:<name>` runs it; resolves once it is ready. */
export const startService = async (
  component: ComponentName,
  env: Record<string, string>,
  label: string = component
): Promise<BenchProcess> => {
  const port = await freePort()
  return fromComponent(label, await startComponent(component, { port, env, via: "node", timeoutMs: 30_000 }))
}

/** The bare `node:http` server the vote service is compared with, as its own process. */
export const startBareServer = async (): Promise<BenchProcess> => {
  const port = await freePort()
  const { child, output, exited } = spawnCollecting(
    process.execPath,
    [new URL("../BareServer.ts", import.meta.url).pathname],
    { ...process.env, PORT: String(port) }
  )
  const url = `http://127.0.0.1:${port}`
  await waitForOk(`${url}/livez`, 10_000, output)
  return {
    name: "bare",
    url,
    pid: child.pid!,
    output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      await exited
    },
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT")
  }
}
