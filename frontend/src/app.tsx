import { Route, Routes } from 'react-router-dom'
import { Layout } from './components/layout'
import { AccountMenu } from './features/auth/account-menu'
import { MySharesPage } from './features/auth/my-shares-page'
import { HomePage } from './features/cloud/home-page'
import { LinkGone } from './features/cloud/link-gone'
import { ResultPage } from './features/cloud/result-page'
import { SharePage } from './features/cloud/share-page'
import { RoomPage } from './features/p2p/room-page'

/** Routes of the web app. Each feature folder owns its pages. */
export function App() {
  return (
    <Layout headerSlot={<AccountMenu />}>
      <Routes>
        <Route path="/" element={<HomePage />} />
        <Route path="/s/:id" element={<SharePage />} />
        <Route path="/links/:id" element={<ResultPage />} />
        <Route path="/me" element={<MySharesPage />} />
        <Route path="/p2p" element={<RoomPage />} />
        <Route path="/r/:secret" element={<RoomPage />} />
        <Route path="*" element={<LinkGone title="Page not found" />} />
      </Routes>
    </Layout>
  )
}
