import type { Me, StatsResponse } from '@sharesync/protocol'
import { Tab, TabGroup, TabList, TabPanel, TabPanels } from '@headlessui/react'
import { useCallback, useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { buttonClass } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'
import { errorMessage } from '../../lib/api'
import { usePublicConfig } from '../../lib/use-public-config'
import { signInUrl } from '../auth/auth-api'
import { useMe } from '../auth/use-me'
import { adminApi } from './admin-api'
import { AuditSection } from './audit-section'
import { OverviewSection, StatsError, type RangeDays } from './overview-section'
import { DownloadsView } from '../monitor/downloads-view'
import { NotificationsSection } from './notifications-section'
import { SettingsSection } from './settings-section'
import { SharesSection } from './shares-section'
import { useAdminFeed } from './use-admin-feed'
import { UsersSection } from './users-section'

/** The dashboard's tabs, by their key in `admin.tabs`. */
const TABS = ['overview', 'shares', 'users', 'downloads', 'notifications', 'settings', 'audit'] as const

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Route /admin: the dashboard (admins only; the server checks every call again). */
export function AdminPage() {
  const { t } = useTranslation()
  usePageTitle(t('admin.title'))
  const me = useMe()
  const { config } = usePublicConfig()
  if (me.status === 'loading') return <p role="status">{t('common.loading')}</p>
  if (me.status === 'error') return <Alert tone="error">{t('home.unreachable')}</Alert>
  if (!me.me || me.me.role !== 'admin') {
    return (
      <Card className="space-y-4">
        <h1 className="text-2xl font-bold">{t('admin.title')}</h1>
        <p>{me.me ? t('admin.notAdmin') : t('admin.signInAsAdmin')}</p>
        {!me.me && config?.auth.google && (
          <a href={signInUrl('/admin')} className={buttonClass('primary')}>
            {t('auth.signInGoogle')}
          </a>
        )}
      </Card>
    )
  }
  return <Dashboard me={me.me} />
}

function Dashboard({ me }: { me: Me }) {
  const { t } = useTranslation()
  const [days, setDays] = useState<RangeDays>(30)
  const [stats, setStats] = useState<StatsResponse | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [auditVersion, setAuditVersion] = useState(0)
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null)

  const load = useCallback(async () => {
    try {
      const now = Date.now()
      setStats(await adminApi.stats({ from: day(now - (days - 1) * 86_400_000), to: day(now) }))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [days])
  useEffect(() => {
    void load()
  }, [load])

  // Events arrive in bursts (a busy server): refresh the figures at most once a second.
  const refreshSoon = useCallback(() => {
    refreshTimer.current ??= setTimeout(() => {
      refreshTimer.current = null
      void load()
    }, 1000)
  }, [load])
  useEffect(() => () => clearTimeout(refreshTimer.current ?? undefined), [])

  const feed = useAdminFeed((event) => {
    if (event.type === 'audit') setAuditVersion((v) => v + 1)
    else if (event.type !== 'roomOpened' && event.type !== 'roomClosed') refreshSoon()
  })

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">{t('admin.dashboard')}</h1>
        <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.signedInAs', { email: me.email })}</p>
      </div>
      <TabGroup>
        <TabList className="flex flex-wrap gap-1" aria-label={t('admin.sections')}>
          {TABS.map((tab) => (
            <Tab
              key={tab}
              className="min-h-11 shrink-0 rounded-xl px-4 text-sm font-semibold text-slate-700 focus:outline-none data-[focus]:outline-2 data-[focus]:outline-indigo-500 data-[hover]:bg-slate-200 data-[selected]:bg-indigo-600 data-[selected]:text-white dark:text-slate-200 dark:data-[hover]:bg-slate-800 dark:data-[selected]:bg-indigo-400 dark:data-[selected]:text-slate-950"
            >
              {t(`admin.tabs.${tab}`)}
            </Tab>
          ))}
        </TabList>
        <TabPanels className="mt-4">
          <TabPanel>
            {error && <StatsError message={error} />}
            {stats ? (
              <OverviewSection
                stats={stats}
                live={feed.live}
                connected={feed.connected}
                events={feed.events}
                days={days}
                onDays={setDays}
              />
            ) : (
              !error && <p role="status">{t('admin.loadingStats')}</p>
            )}
          </TabPanel>
          <TabPanel>
            <SharesSection onChanged={refreshSoon} />
          </TabPanel>
          <TabPanel>
            <UsersSection me={me} onChanged={refreshSoon} />
          </TabPanel>
          <TabPanel>
            <Card className="space-y-3" aria-labelledby="downloads-heading">
              <h2 id="downloads-heading" className="text-lg font-semibold">
                {t('admin.tabs.downloads')}
              </h2>
              <DownloadsView scope="admin" />
            </Card>
          </TabPanel>
          <TabPanel>
            <NotificationsSection />
          </TabPanel>
          <TabPanel>
            <SettingsSection onSaved={() => setAuditVersion((v) => v + 1)} />
          </TabPanel>
          <TabPanel>
            <AuditSection version={auditVersion} />
          </TabPanel>
        </TabPanels>
      </TabGroup>
    </div>
  )
}
