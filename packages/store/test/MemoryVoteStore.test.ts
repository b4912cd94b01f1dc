import { VoteStore } from "../src/VoteStore.ts"
import { voteStoreContract } from "./VoteStoreContract.ts"

voteStoreContract("MemoryVoteStore", () => VoteStore.layerMemory)
