/** Where an event's bytes go: a response, or its socket. */
interface Writable {
  write(chunk: Uint8Array): boolean
  once(event: "drain", listener: () => void): unknown
  readonly destroyed: boolean
}

/** What an open event stream needs of its Node response (node:http's ServerResponse), its head written. */
export interface EventSink extends Writable {
  readonly writableEnded: boolean
  /** Set with the head: the body goes out in HTTP/1.1 chunks (false for an HTTP/1.0 client). */
  readonly chunkedEncoding: boolean
  /** Above 0 while the response holds writes of its own (its head and first chunks, until the next tick). */
  readonly writableCorked: number
  readonly socket: Writable | null
}

/** An event as it goes out: its bytes, and the same bytes as one HTTP/1.1 chunk. */
export interface Framed {
  readonly bytes: Uint8Array
  readonly chunk: Uint8Array
}

const crlf = Buffer.from("\r\n", "latin1")

/** Frames `bytes` once for every stream: the chunk's length line, the bytes, a CRLF. */
export const frame = (bytes: Uint8Array): Framed => ({
  bytes,
  chunk: Buffer.concat([Buffer.from(`${bytes.byteLength.toString(16)}\r\n`, "latin1"), bytes, crlf])
})

/** One open stream: the last event it was sent, and whether it is waiting for its socket to drain. */
interface OpenStream {
  readonly sink: EventSink
  /**
   * The response's socket when its body is chunked: a framed event goes to
   * it in one write, one syscall. Through the response, Node corks the
   * socket, writes the length, the bytes and a CRLF, and sends them only on
   * the next tick, so no stream would get a byte before the last one's turn.
   */
  readonly socket: Writable | undefined
  readonly onEnd: () => void
  sent: number
  draining: boolean
}

/**
 * The open event streams of a process, every one sent the same bytes: an
 * event is encoded and framed once, and the one buffer is written to each
 * socket, so a change costs one serialisation and one socket write per
 * stream, nothing else per stream (no fiber, queue or copy).
 *
 * A stream whose socket cannot take more (a client that does not read) is
 * skipped until its socket drains, then sent only the latest event: a slow
 * client holds at most one event in this process, never a backlog.
 */
export class EventStreams {
  private readonly open = new Set<OpenStream>()
  private latest: Framed | undefined
  private version = 0
  private ended = false
  private written = 0
  private readonly preamble: Uint8Array

  /** `preamble` starts every stream's body, before the latest event. */
  constructor(preamble: Uint8Array) {
    this.preamble = preamble
  }

  /** Streams open now. */
  get size(): number {
    return this.open.size
  }

  /** Events written to streams since the last call, catching up after a stall included (a metric's increment). */
  takeWritten(): number {
    const written = this.written
    this.written = 0
    return written
  }

  /**
   * Starts a stream on `sink`, whose head is written: the preamble and the
   * latest event at once, then every event published until it is removed
   * (the returned function) or `endAll`, which calls `onEnd` to end the response.
   */
  add(sink: EventSink, onEnd: () => void): () => void {
    sink.write(this.preamble)
    if (this.ended) {
      onEnd()
      return () => {}
    }
    const socket = sink.chunkedEncoding && sink.socket !== null ? sink.socket : undefined
    const stream: OpenStream = { sink, socket, onEnd, sent: this.version, draining: false }
    if (this.latest !== undefined) this.send(stream, this.latest)
    this.open.add(stream)
    return () => {
      this.open.delete(stream)
    }
  }

  /** Sends `event` to every stream, the same bytes to each; remembered for streams that start later. */
  publish(event: Framed): void {
    this.latest = event
    this.version++
    for (const stream of this.open) if (!stream.draining) this.send(stream, event)
  }

  /** Writes `comment` (a heartbeat) to every stream that is keeping up; it is not remembered. */
  comment(comment: Framed): void {
    for (const stream of this.open) {
      if (!stream.draining) this.write(stream, comment)
    }
  }

  /** Ends every stream (shutdown), and any started later at once. */
  endAll(): void {
    this.ended = true
    for (const stream of this.open) {
      this.open.delete(stream)
      stream.onEnd()
    }
  }

  private send(stream: OpenStream, event: Framed): void {
    stream.sent = this.version
    this.written++
    this.write(stream, event)
  }

  /** Writes to a stream; when its socket is full, waits for it to drain, then catches up with the latest event. */
  private write(stream: OpenStream, event: Framed): void {
    const { sink, socket } = stream
    if (sink.writableEnded || sink.destroyed) return
    // Straight to the socket only once the response has passed on what it held, or it would overtake that.
    const target = socket !== undefined && sink.writableCorked === 0 ? socket : sink
    if (target.destroyed || target.write(target === sink ? event.bytes : event.chunk)) return
    stream.draining = true
    target.once("drain", () => {
      stream.draining = false
      if (this.open.has(stream) && stream.sent !== this.version && this.latest !== undefined) {
        this.send(stream, this.latest)
      }
    })
  }
}
