// Reading PNG files in tests: decode (node:zlib inflate, PNG filters undone) and count the
// connected blobs of one colour, e.g. the marks plotted in progress.png.
import { inflateSync } from "node:zlib";

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row by row. */
  pixels: Uint8Array;
}

export function decodePng(file: Buffer): Image {
  if (file.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") throw new Error("not a PNG file");
  let width = 0, height = 0, colourType = 0;
  const data: Buffer[] = [];
  for (let offset = 8; offset < file.length;) {
    const length = file.readUInt32BE(offset);
    const type = file.toString("latin1", offset + 4, offset + 8);
    const body = file.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[12] !== 0) throw new Error(`unsupported PNG: bit depth ${body[8]}, interlace ${body[12]}`);
      colourType = body[9];
    } else if (type === "IDAT") {
      data.push(body);
    }
    offset += 12 + length;
  }
  const channels = { 2: 3, 6: 4 }[colourType];
  if (channels === undefined) throw new Error(`unsupported PNG colour type ${colourType}`);
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? rows[y * stride + x - channels] : 0;
      const up = y > 0 ? rows[(y - 1) * stride + x] : 0;
      const upLeft = x >= channels && y > 0 ? rows[(y - 1) * stride + x - channels] : 0;
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter];
      if (predictor === undefined) throw new Error(`bad PNG filter ${filter}`);
      rows[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  const pixels = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    pixels.set(rows.subarray(i * channels, i * channels + 3), i * 4);
    pixels[i * 4 + 3] = channels === 4 ? rows[i * channels + 3] : 255;
  }
  return { width, height, pixels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Connected (4-neighbour) areas of at least `minPixels` pixels within `tolerance` of `#rrggbb`. */
export function countBlobs(image: Image, hex: string, options: { minPixels?: number; tolerance?: number } = {}): number {
  const minPixels = options.minPixels ?? 6;
  const tolerance = options.tolerance ?? 3;
  const target = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const { width, height, pixels } = image;
  const matches = (index: number) => pixels[index * 4 + 3] > 250 && target.every((value, channel) => Math.abs(pixels[index * 4 + channel] - value) <= tolerance);
  const seen = new Uint8Array(width * height);
  let blobs = 0;
  for (let start = 0; start < width * height; start++) {
    if (seen[start] || !matches(start)) continue;
    let size = 0;
    const stack = [start];
    seen[start] = 1;
    while (stack.length > 0) {
      const index = stack.pop()!;
      size += 1;
      const x = index % width;
      for (const next of [x > 0 ? index - 1 : -1, x < width - 1 ? index + 1 : -1, index - width, index + width]) {
        if (next < 0 || next >= width * height || seen[next] || !matches(next)) continue;
        seen[next] = 1;
        stack.push(next);
      }
    }
    if (size >= minPixels) blobs += 1;
  }
  return blobs;
}

/** How many different colours the image uses (a blank or one-colour screenshot has 1 or 2). */
export function distinctColours(image: Image): number {
  const colours = new Set<number>();
  for (let i = 0; i < image.pixels.length; i += 4) colours.add((image.pixels[i] << 16) | (image.pixels[i + 1] << 8) | image.pixels[i + 2]);
  return colours.size;
}
