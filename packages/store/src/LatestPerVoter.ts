import { compareEntryIds, type QueuedVote } from "@voting/domain"

/** Keeps, per voter, only the vote queued last: the one a batch would end with anyway. */
export const latestPerVoter = (votes: ReadonlyArray<QueuedVote>): Array<QueuedVote> => {
  const latest = new Map<string, QueuedVote>()
  for (const queued of votes) {
    const held = latest.get(queued.vote.voterId)
    if (held === undefined || compareEntryIds(queued.entryId, held.entryId) > 0) latest.set(queued.vote.voterId, queued)
  }
  return [...latest.values()]
}
