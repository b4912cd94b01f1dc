/**
 * Just enough of PNG to check a screenshot: its size, and how many colours it
 * holds (a blank or failed render is one or two). Reads the 8-bit, non-interlaced
 * RGB and RGBA images Chromium writes; anything else is refused, not guessed at.
 */
import { inflateSync } from "node:zlib"

export interface PngImage {
  readonly width: number
  readonly height: number
  /** Bytes per pixel: 3 (RGB) or 4 (RGBA). */
  readonly channels: 3 | 4
  /** The pixels, row after row, without the filter bytes. */
  readonly pixels: Buffer
}

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const paeth = (a: number, b: number, c: number) => {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

export const decodePng = (png: Buffer): PngImage => {
  if (!png.subarray(0, 8).equals(signature)) throw new Error("not a PNG")
  let width = 0
  let height = 0
  let channels: 3 | 4 = 3
  const data: Array<Buffer> = []
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at)
    const type = png.toString("latin1", at + 4, at + 8)
    const body = png.subarray(at + 8, at + 8 + length)
    if (type === "IHDR") {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      const [bitDepth, colourType, , , interlace] = body.subarray(8, 13)
      if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0)
        throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace}`)
      channels = colourType === 6 ? 4 : 3
    } else if (type === "IDAT") data.push(body)
    else if (type === "IEND") break
    at += 12 + length
  }
  const raw = inflateSync(Buffer.concat(data))
  const stride = width * channels
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const row = y * stride
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (pixels[row + x - channels] as number) : 0
      const b = y > 0 ? (pixels[row - stride + x] as number) : 0
      const c = x >= channels && y > 0 ? (pixels[row - stride + x - channels] as number) : 0
      const value = line[x] as number
      const predicted =
        filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c)
      pixels[row + x] = (value + predicted) & 0xff
    }
  }
  return { width, height, channels, pixels }
}

/** How many distinct colours (RGB, alpha ignored) the image holds, counting up to `atMost`. */
export const distinctColours = (image: PngImage, atMost = 10_000): number => {
  const seen = new Set<number>()
  for (let at = 0; at < image.pixels.length && seen.size < atMost; at += image.channels)
    seen.add(
      ((image.pixels[at] as number) << 16) | ((image.pixels[at + 1] as number) << 8) | (image.pixels[at + 2] as number)
    )
  return seen.size
}
