import { lazy, Suspense, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { Route, Routes } from 'react-router-dom'
import { Layout } from './components/layout'
import { AdminLinkUsed } from './features/auth/admin-link-used'
import { HomePage } from './features/cloud/home-page'
import { LinkGone } from './features/cloud/link-gone'
import { ResultPage } from './features/cloud/result-page'
import { SharePage } from './features/cloud/share-page'

// Features other than the cloud-link path load on demand: the P2P engine (hash-wasm, socket.io)
// and the account pages stay out of the bundle a recipient of a link downloads.
const NewTextPage = lazy(() => import('./features/sharing/new-text-page').then((m) => ({ default: m.NewTextPage })))
const RoomPage = lazy(() => import('./features/p2p/room-page').then((m) => ({ default: m.RoomPage })))
const MySharesPage = lazy(() => import('./features/auth/my-shares-page').then((m) => ({ default: m.MySharesPage })))
const AdminPage = lazy(() => import('./features/admin/admin-page').then((m) => ({ default: m.AdminPage })))
const LibraryPage = lazy(() => import('./features/library/library-page').then((m) => ({ default: m.LibraryPage })))
const ApiReferencePage = lazy(() => import('./features/api-docs/api-reference-page').then((m) => ({ default: m.ApiReferencePage })))
const TokensPage = lazy(() => import('./features/tokens/tokens-page').then((m) => ({ default: m.TokensPage })))
const MyRequestsPage = lazy(() => import('./features/requests/my-requests-page').then((m) => ({ default: m.MyRequestsPage })))
const RequestUploadPage = lazy(() => import('./features/requests/request-upload-page').then((m) => ({ default: m.RequestUploadPage })))
const AccountMenu = lazy(() => import('./features/auth/account-menu').then((m) => ({ default: m.AccountMenu })))

function Loading({ children }: { children: ReactNode }) {
  const { t } = useTranslation()
  return (
    <Suspense
      fallback={
        <p role="status" className="text-slate-700 dark:text-slate-300">
          {t('common.loading')}
        </p>
      }
    >
      {children}
    </Suspense>
  )
}

/** Routes of the web app. Each feature folder owns its pages. */
export function App() {
  const { t } = useTranslation()
  return (
    <Layout
      headerSlot={
        <Suspense fallback={null}>
          <AccountMenu />
        </Suspense>
      }
    >
      <Routes>
        <Route path="/" element={<HomePage />} />
        <Route path="/s/:id" element={<SharePage />} />
        <Route path="/links/:id" element={<ResultPage />} />
        <Route
          path="/text"
          element={
            <Loading>
              <NewTextPage />
            </Loading>
          }
        />
        <Route
          path="/p2p"
          element={
            <Loading>
              <RoomPage />
            </Loading>
          }
        />
        <Route
          path="/r/:secret"
          element={
            <Loading>
              <RoomPage />
            </Loading>
          }
        />
        <Route
          path="/me"
          element={
            <Loading>
              <MySharesPage />
            </Loading>
          }
        />
        <Route
          path="/me/requests"
          element={
            <Loading>
              <MyRequestsPage />
            </Loading>
          }
        />
        <Route
          path="/request/:id"
          element={
            <Loading>
              <RequestUploadPage />
            </Loading>
          }
        />
        <Route
          path="/me/tokens"
          element={
            <Loading>
              <TokensPage />
            </Loading>
          }
        />
        <Route
          path="/admin"
          element={
            <Loading>
              <AdminPage />
            </Loading>
          }
        />
        <Route path="/admin/link-used" element={<AdminLinkUsed />} />
        <Route
          path="/library"
          element={
            <Loading>
              <LibraryPage />
            </Loading>
          }
        />
        <Route
          path="/docs/api"
          element={
            <Loading>
              <ApiReferencePage />
            </Loading>
          }
        />
        <Route path="*" element={<LinkGone title={t('layout.pageNotFound')} />} />
      </Routes>
    </Layout>
  )
}
