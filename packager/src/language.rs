//! Language tags for manifests.
//!
//! Sources name languages in ISO 639-2 (MPEG-TS ISO_639_language_descriptor,
//! ISO/IEC 13818-1 §2.6.18; the `language` metadata of FLV/MP4), three letters,
//! bibliographic (`fre`) or terminological (`fra`). Manifests want BCP 47
//! (RFC 5646): HLS `LANGUAGE` (rfc8216bis §4.4.6.1) and DASH `@lang` (ISO/IEC
//! 23009-1 §5.3.7, xs:language). RFC 5646 §2.2.1 requires the shortest ISO 639
//! code, so `eng` becomes `en` and `fre`/`fra` become `fr`; players compare these
//! tags with the browser's preferred languages (dash.js and hls.js normalise or
//! match on them). Tags that are not three ASCII letters pass through, trimmed.
//!
//! The ISO 639 tables come from the `isolang` crate (docs/decisions.md).

use isolang::Language;

/// ISO 639-2 bibliographic codes that differ from the terminological ones
/// (ISO 639-2 lists exactly these twenty), as (B, T).
const BIBLIOGRAPHIC_TO_TERMINOLOGIC: [(&str, &str); 20] = [
    ("alb", "sqi"),
    ("arm", "hye"),
    ("baq", "eus"),
    ("bur", "mya"),
    ("chi", "zho"),
    ("cze", "ces"),
    ("dut", "nld"),
    ("fre", "fra"),
    ("geo", "kat"),
    ("ger", "deu"),
    ("gre", "ell"),
    ("ice", "isl"),
    ("mac", "mkd"),
    ("mao", "mri"),
    ("may", "msa"),
    ("per", "fas"),
    ("rum", "ron"),
    ("slo", "slk"),
    ("tib", "bod"),
    ("wel", "cym"),
];

fn iso639(code: &str) -> Option<Language> {
    let lower = code.to_ascii_lowercase();
    match lower.len() {
        2 => Language::from_639_1(&lower),
        3 => {
            let t = BIBLIOGRAPHIC_TO_TERMINOLOGIC
                .iter()
                .find(|(b, _)| *b == lower)
                .map_or(lower.as_str(), |(_, t)| t);
            Language::from_639_3(t)
        }
        _ => None,
    }
}

/// The BCP 47 tag for a source's language code: the ISO 639-1 code when one
/// exists, else the (terminological) three-letter code, else `code` as given.
pub fn bcp47(code: &str) -> String {
    let code = code.trim();
    match iso639(code) {
        Some(lang) => lang
            .to_639_1()
            .unwrap_or_else(|| lang.to_639_3())
            .to_owned(),
        None => code.to_owned(),
    }
}

/// The English name of a language code (`eng` → `English`), for a rendition's
/// human-readable `NAME`; `None` for unknown or special codes (`und`, `mul`).
pub fn english_name(code: &str) -> Option<&'static str> {
    let lang = iso639(code.trim())?;
    match lang.to_639_3() {
        "und" | "mul" | "mis" | "zxx" => None,
        _ => Some(lang.to_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_letter_codes_become_the_shortest_tag() {
        assert_eq!(bcp47("eng"), "en");
        assert_eq!(bcp47("fra"), "fr");
        assert_eq!(bcp47("fre"), "fr");
        assert_eq!(bcp47("ger"), "de");
        assert_eq!(bcp47("DEU"), "de");
        assert_eq!(bcp47("chi"), "zh");
    }

    #[test]
    fn codes_without_a_two_letter_form_and_unknown_tags_pass_through() {
        assert_eq!(bcp47("yue"), "yue");
        assert_eq!(bcp47("und"), "und");
        assert_eq!(bcp47("en"), "en");
        assert_eq!(bcp47("pt-BR"), "pt-BR");
        assert_eq!(bcp47(" xx1 "), "xx1");
    }

    #[test]
    fn names_in_english() {
        assert_eq!(english_name("eng"), Some("English"));
        assert_eq!(english_name("fre"), Some("French"));
        assert_eq!(english_name("und"), None);
        assert_eq!(english_name("qqq"), None);
    }
}
