/**
 * Keys whose text is rightly the same as in English in that language (brand and technical words,
 * borrowed words). The completeness test refuses any other English copy.
 */
export const SAME_AS_ENGLISH: Record<string, string[]> = {
  de: [],
  fr: [],
  es: [],
  'pt-BR': [],
  'zh-CN': [],
}
