import { runComponent } from "@voting/platform"
import { WorkerLive } from "./WorkerServer.ts"

runComponent("worker", WorkerLive)
