import { runComponent } from "@voting/platform"
import { ResultLive } from "./ResultServer.ts"

runComponent("result", ResultLive)
