/**
 * Keys whose text is rightly the same as in English in that language (brand and technical words,
 * borrowed words). The completeness test refuses any other English copy.
 */
export const SAME_AS_ENGLISH: Record<string, string[]> = {
  fr: ['result.protection'],
  es: [],
  'pt-BR': ['upload.downloads_one', 'upload.downloads_other', 'result.link'],
  de: ['result.link'],
  'zh-CN': [],
}
