import { runComponent } from "@voting/platform"
import { StandaloneLive } from "./StandaloneServer.ts"

// On a laptop the banner says what matters; info lines would bury it. LOG_LEVEL still wins.
process.env.LOG_LEVEL ??= "warn"

runComponent("standalone", StandaloneLive)
