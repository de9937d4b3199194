import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter } from 'react-router-dom'
import { App } from './app'
import { i18nReady } from './i18n'
import { registerServiceWorker } from './lib/service-worker'
import { applyTheme, preferredTheme } from './lib/theme'
import './index.css'

// Before the first render, so a dark-theme user never sees a white flash.
applyTheme(preferredTheme())

// After the language's messages are loaded (English is bundled, others are one small chunk each).
void i18nReady.finally(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  ),
)

registerServiceWorker()
