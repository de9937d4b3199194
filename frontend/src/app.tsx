import { Route, Routes } from 'react-router-dom'

/** Routes of the web app. Each feature folder owns its pages. */
export function App() {
  return (
    <main className="mx-auto max-w-3xl p-4">
      <Routes>
        <Route path="*" element={<h1 className="text-2xl font-semibold">ShareSync</h1>} />
      </Routes>
    </main>
  )
}
