/**
 * Keys whose text is rightly the same as in English in that language (brand and technical words,
 * borrowed words). The completeness test refuses any other English copy.
 */
export const SAME_AS_ENGLISH: Record<string, string[]> = {
  fr: ['result.protection', 'admin.tabs.notifications', 'admin.actions', 'apiDocs.filterPlaceholder', 'apiDocs.sections'],
  es: ['apiDocs.filterPlaceholder'],
  'pt-BR': ['upload.downloads_one', 'upload.downloads_other', 'result.link', 'apiDocs.filterPlaceholder'],
  de: ['result.link', 'admin.tabs.downloads', 'admin.uploads', 'admin.downloads', 'admin.offline', 'admin.sockets', 'admin.dashboards', 'admin.settings.uploads', 'newText.text', 'tokens.name', 'apiDocs.filterPlaceholder'],
  'zh-CN': [],
}
