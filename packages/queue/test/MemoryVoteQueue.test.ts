import { VoteQueue } from "../src/VoteQueue.ts"
import { voteQueueContract } from "./VoteQueueContract.ts"

voteQueueContract("MemoryVoteQueue", () => VoteQueue.layerMemory)
