import { useEffect, useRef, useState } from 'react'
import { droppedFiles } from './file-paths'

/**
 * Files from anywhere on the page: drag and drop (files and whole folders) over the whole window and paste (Ctrl+V) of files
 * or images from the clipboard; pasted text (no file) goes to `onText`. Returns whether a drag is currently over the
 * window (for an overlay).
 */
export function usePageFileInput(onFiles: (files: File[]) => void, enabled = true, onText?: (text: string) => void): { dragging: boolean } {
  const [dragging, setDragging] = useState(false)
  const handler = useRef(onFiles)
  handler.current = onFiles
  const textHandler = useRef(onText)
  textHandler.current = onText

  useEffect(() => {
    if (!enabled) return
    let depth = 0
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files')
    const onEnter = (e: DragEvent) => {
      if (!hasFiles(e)) return
      e.preventDefault()
      depth++
      setDragging(true)
    }
    const onOver = (e: DragEvent) => {
      if (!hasFiles(e)) return
      e.preventDefault()
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'
    }
    const onLeave = (e: DragEvent) => {
      if (!hasFiles(e)) return
      depth = Math.max(0, depth - 1)
      if (depth === 0) setDragging(false)
    }
    const onDrop = (e: DragEvent) => {
      if (!hasFiles(e)) return
      e.preventDefault()
      depth = 0
      setDragging(false)
      if (!e.dataTransfer) return
      // Dropped folders are walked with their tree (each file remembers its folder).
      void droppedFiles(e.dataTransfer).then(
        (files) => files.length && handler.current(files),
        () => undefined,
      )
    }
    const onPaste = (e: ClipboardEvent) => {
      // Pasting text into a form field is not a file upload.
      const target = e.target as HTMLElement | null
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)) return
      const files = Array.from(e.clipboardData?.files ?? [])
      if (files.length) {
        e.preventDefault()
        handler.current(files)
        return
      }
      const text = e.clipboardData?.getData('text/plain') ?? ''
      if (text.trim() && textHandler.current) {
        e.preventDefault()
        textHandler.current(text)
      }
    }
    window.addEventListener('dragenter', onEnter)
    window.addEventListener('dragover', onOver)
    window.addEventListener('dragleave', onLeave)
    window.addEventListener('drop', onDrop)
    window.addEventListener('paste', onPaste)
    return () => {
      window.removeEventListener('dragenter', onEnter)
      window.removeEventListener('dragover', onOver)
      window.removeEventListener('dragleave', onLeave)
      window.removeEventListener('drop', onDrop)
      window.removeEventListener('paste', onPaste)
    }
  }, [enabled])

  return { dragging }
}
