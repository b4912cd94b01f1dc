/**
 * Live update as Tilt does it, for one image: which of the Tiltfile's own
 * steps a changed file meets, and the sync itself (a tar stream extracted at
 * `/` inside the running container, replacing the file with a new inode).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { inContext, under } from "../../cluster/support/ImageContext.ts"
import type { DockerBuild } from "../../cluster/support/TiltfileRun.ts"
import type { RunningPod } from "./PodRunner.ts"

export type LiveUpdate =
  | { readonly kind: "not-watched" }
  | { readonly kind: "rebuild"; readonly why: string }
  | { readonly kind: "sync"; readonly remote: string }

/** What Tilt does with a change to `file` (repository-relative) for this image. */
export const liveUpdateOf = (root: string, build: DockerBuild) => {
  const watched = inContext(root, build)
  return (file: string): LiveUpdate => {
    if (!watched(file)) return { kind: "not-watched" }
    for (const step of build.live_update) {
      if (step.step === "fall_back_on" && step.files.some((path) => under(file, path))) {
        return { kind: "rebuild", why: "fall_back_on" }
      }
    }
    for (const step of build.live_update) {
      if (step.step === "sync" && under(file, step.local_path)) {
        return { kind: "sync", remote: join(step.remote_path, relative(step.local_path, file)) }
      }
    }
    return { kind: "rebuild", why: "no sync step matches" }
  }
}

/** Copies new contents to `remote` in the container the way Tilt's sync does. */
export const syncFile = async (pod: RunningPod, container: string, remote: string, contents: string) => {
  const stage = mkdtempSync(join(tmpdir(), "tilt-sync-"))
  try {
    const inArchive = remote.replace(/^\//, "")
    mkdirSync(join(stage, dirname(inArchive)), { recursive: true })
    writeFileSync(join(stage, inArchive), contents)
    const archive = execFileSync("tar", ["-C", stage, "-cf", "-", inArchive])
    const result = await pod.exec(container, ["tar", "-C", "/", "-x", "-f", "-"], archive)
    if (result.code !== 0)
      throw new Error(`tar -x into ${pod.name}/${container} exited ${result.code}: ${result.stderr}`)
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}
