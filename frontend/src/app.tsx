import { Route, Routes } from 'react-router-dom'
import { Layout } from './components/layout'
import { HomePage } from './features/cloud/home-page'
import { LinkGone } from './features/cloud/link-gone'
import { ResultPage } from './features/cloud/result-page'
import { SharePage } from './features/cloud/share-page'

/** Routes of the web app. Each feature folder owns its pages. */
export function App() {
  return (
    <Layout>
      <Routes>
        <Route path="/" element={<HomePage />} />
        <Route path="/s/:id" element={<SharePage />} />
        <Route path="/links/:id" element={<ResultPage />} />
        <Route path="*" element={<LinkGone title="Page not found" />} />
      </Routes>
    </Layout>
  )
}
