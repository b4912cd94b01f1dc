import { MemoryVoteStore } from "../src/MemoryVoteStore.ts"
import { voteStoreContract } from "./VoteStoreContract.ts"

voteStoreContract("MemoryVoteStore", () => MemoryVoteStore.layer)
