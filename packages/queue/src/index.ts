export * from "./MemoryVoteQueue.ts"
export * from "./RedisVoteQueue.ts"
export * from "./VoteQueue.ts"
