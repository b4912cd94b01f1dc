export * from "./MemoryVoteStore.ts"
export * from "./Migrations.ts"
export * from "./PgVoteStore.ts"
export * from "./VoteStore.ts"
