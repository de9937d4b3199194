// Draws the PWA icons (public/icon-*.png) without binary tools: `node scripts/make-icons.mjs`.
// The same picture as the logo in components/layout.tsx: an upward arrow over a line, on indigo.
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../package.json', import.meta.url))
const { PNG } = require('pngjs')

const BG = [79, 70, 229]
const FG = [255, 255, 255]

function segDist(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy))
}

// Strokes in a 32x32 design space (see the SVG logo).
const strokes = [
  [16, 7, 16, 20],
  [10.5, 12.5, 16, 7],
  [16, 7, 21.5, 12.5],
  [9, 24, 23, 24],
]

function draw(size, { maskable }) {
  const png = new PNG({ width: size, height: size })
  const scale = maskable ? 0.7 : 1 // maskable: keep the picture inside the 80 % safe zone
  const radius = maskable ? 0 : 8
  const SS = 4
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let bg = 0, fg = 0
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const u = ((x + (sx + 0.5) / SS) / size) * 32
          const v = ((y + (sy + 0.5) / SS) / size) * 32
          // rounded square
          const cx = Math.max(radius - u, 0, u - (32 - radius))
          const cy = Math.max(radius - v, 0, v - (32 - radius))
          const inside = radius === 0 || Math.hypot(cx, cy) <= radius
          if (!inside) continue
          bg++
          const du = 16 + (u - 16) / scale
          const dv = 16 + (v - 16) / scale
          const d = Math.min(...strokes.map(([ax, ay, bx, by]) => segDist(du, dv, ax, ay, bx, by)))
          if (d <= 1.3) fg++
        }
      }
      const n = SS * SS
      const i = (y * size + x) * 4
      const a = bg / n
      const f = bg ? fg / bg : 0
      for (let c = 0; c < 3; c++) png.data[i + c] = Math.round(BG[c] * (1 - f) + FG[c] * f)
      png.data[i + 3] = Math.round(a * 255)
    }
  }
  return PNG.sync.write(png)
}

const out = new URL('../public/', import.meta.url)
writeFileSync(new URL('icon-192.png', out), draw(192, { maskable: false }))
writeFileSync(new URL('icon-512.png', out), draw(512, { maskable: false }))
writeFileSync(new URL('icon-maskable-512.png', out), draw(512, { maskable: true }))
writeFileSync(new URL('apple-touch-icon.png', out), draw(180, { maskable: true }))
