import {
  type ComponentName,
  freePort,
  type RunningComponent,
  repositoryRoot,
  type StartOptions,
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

let via: NonNullable<StartOptions["via"]> = "node"

/** From now on, services run from the production bundles in `dir` (`npm run bundle`), as the images run them. */
export const runFromBundles = (dir: string) => {
  via = { bundle: dir }
}

/** One service as its own process, from its sources or its bundle; resolves once it is ready. */
export const startService = async (
  component: ComponentName,
  env: Record<string, string>,
  label: string = component
): Promise<BenchProcess> => {
  const port = await freePort()
  return fromComponent(label, await startComponent(component, { port, env, via, timeoutMs: 30_000 }))
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
