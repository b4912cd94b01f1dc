import { MemoryVoteQueue } from "../src/MemoryVoteQueue.ts"
import { voteQueueContract } from "./VoteQueueContract.ts"

voteQueueContract("MemoryVoteQueue", () => MemoryVoteQueue.layer)
