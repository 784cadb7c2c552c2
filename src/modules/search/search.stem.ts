/**
 * Porter's stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980), for lower-case English
 * words: "allergies" and "allergy" both become "allergi", "cats" "cat". Hybrid ranking compares stems
 * so an inflection that prefix matching misses still counts as the query's word. Words of two letters
 * or fewer, and words with other characters than a to z, are returned as they are.
 */

const STEP2: [string, string][] = [
  ['ational', 'ate'], ['tional', 'tion'], ['enci', 'ence'], ['anci', 'ance'], ['izer', 'ize'], ['bli', 'ble'],
  ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous'], ['ization', 'ize'], ['ation', 'ate'],
  ['ator', 'ate'], ['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'], ['ousness', 'ous'], ['aliti', 'al'],
  ['iviti', 'ive'], ['biliti', 'ble'], ['logi', 'log'],
]
const STEP3: [string, string][] = [['icate', 'ic'], ['ative', ''], ['alize', 'al'], ['iciti', 'ic'], ['ical', 'ic'], ['ful', ''], ['ness', '']]
const STEP4 = ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize']

/** Whether the letter at `i` is a consonant: not a, e, i, o, u, and y only after a vowel (or first). */
function consonant(word: string, i: number): boolean {
  const c = word[i]!
  if ('aeiou'.includes(c)) return false
  return c !== 'y' || i === 0 || !consonant(word, i - 1)
}

/** m, the number of vowel-consonant sequences in the stem: [C](VC)^m[V]. */
function measure(stem: string): number {
  let m = 0
  let inVowels = false
  for (let i = 0; i < stem.length; i++) {
    if (!consonant(stem, i)) inVowels = true
    else if (inVowels) {
      m++
      inVowels = false
    }
  }
  return m
}

const hasVowel = (stem: string) => [...stem].some((_, i) => !consonant(stem, i))
const doubleConsonant = (w: string) => w.length >= 2 && w[w.length - 1] === w[w.length - 2] && consonant(w, w.length - 1)
/** *o: the stem ends consonant-vowel-consonant, the last not w, x or y ("hop", not "snow"). */
const cvc = (w: string) =>
  w.length >= 3 && consonant(w, w.length - 3) && !consonant(w, w.length - 2) && consonant(w, w.length - 1) && !'wxy'.includes(w[w.length - 1]!)

/** The first rule whose suffix ends the word decides: replaced when its stem's measure is above `min`, else the word stays. */
function replaceSuffix(word: string, rules: [string, string][], min: number): string {
  for (const [suffix, replacement] of rules) {
    if (!word.endsWith(suffix)) continue
    const stem = word.slice(0, -suffix.length)
    return measure(stem) > min ? stem + replacement : word
  }
  return word
}

function step1ab(word: string): string {
  let w = word
  if (w.endsWith('sses') || w.endsWith('ies')) w = w.slice(0, -2)
  else if (w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1)

  if (w.endsWith('eed')) return measure(w.slice(0, -3)) > 0 ? w.slice(0, -1) : w
  const suffix = w.endsWith('ed') ? 'ed' : w.endsWith('ing') ? 'ing' : null
  if (suffix === null || !hasVowel(w.slice(0, -suffix.length))) return w
  w = w.slice(0, -suffix.length)
  if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) return `${w}e`
  if (doubleConsonant(w) && !'lsz'.includes(w[w.length - 1]!)) return w.slice(0, -1)
  return measure(w) === 1 && cvc(w) ? `${w}e` : w
}

function step4(word: string): string {
  for (const suffix of STEP4) {
    if (!word.endsWith(suffix)) continue
    const stem = word.slice(0, -suffix.length)
    if (suffix === 'ion' && !/[st]$/.test(stem)) return word
    return measure(stem) > 1 ? stem : word
  }
  return word
}

function step5(word: string): string {
  let w = word
  if (w.endsWith('e')) {
    const stem = w.slice(0, -1)
    const m = measure(stem)
    if (m > 1 || (m === 1 && !cvc(stem))) w = stem
  }
  return w.endsWith('ll') && measure(w) > 1 ? w.slice(0, -1) : w
}

export function stem(word: string): string {
  if (word.length <= 2 || !/^[a-z]+$/.test(word)) return word
  let w = step1ab(word)
  if (w.endsWith('y') && hasVowel(w.slice(0, -1))) w = `${w.slice(0, -1)}i`
  w = replaceSuffix(w, STEP2, 0)
  w = replaceSuffix(w, STEP3, 0)
  return step5(step4(w))
}
