import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter } from 'react-router-dom'
import { App } from './app'
import { registerServiceWorker } from './lib/service-worker'
import { applyTheme, preferredTheme } from './lib/theme'
import './index.css'

// Before the first render, so a dark-theme user never sees a white flash.
applyTheme(preferredTheme())

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <App />
    </BrowserRouter>
  </StrictMode>,
)

registerServiceWorker()
