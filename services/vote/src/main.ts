import { runComponent } from "@voting/platform"
import { VoteLive } from "./VoteServer.ts"

runComponent("vote", VoteLive)
