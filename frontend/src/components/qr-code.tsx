import QRCode from 'qrcode'
import { useEffect, useState } from 'react'

/**
 * A QR code of `text` as an <img> (a data: URL, allowed by the CSP) with an accessible label.
 * Dark modules on a white quiet zone in both themes: scanners need the contrast.
 */
export function QrCode({ text, size = 220, label }: { text: string; size?: number; label?: string }) {
  const [src, setSrc] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    QRCode.toDataURL(text, { width: size * 2, margin: 2, errorCorrectionLevel: 'M', color: { dark: '#000000', light: '#ffffff' } }).then(
      (url) => live && setSrc(url),
      () => live && setSrc(null),
    )
    return () => {
      live = false
    }
  }, [text, size])
  const alt = label ?? `QR code for ${text}`
  return src ? (
    <img src={src} width={size} height={size} alt={alt} className="rounded-lg bg-white" data-testid="qr-code" />
  ) : (
    <div
      role="img"
      aria-label={alt}
      style={{ width: size, height: size }}
      className="animate-pulse rounded-lg bg-slate-200 dark:bg-slate-700"
    />
  )
}
