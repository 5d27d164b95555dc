//! The `notAfter` of an X.509 certificate (RFC 5280 §4.1.2.5), read from its DER
//! with a minimal reader: renewal needs this one field, which does not justify a
//! full X.509 parser in the tree.
//!
//! ```text
//! Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
//! TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber INTEGER,
//!     signature AlgorithmIdentifier, issuer Name, validity Validity, … }
//! Validity ::= SEQUENCE { notBefore Time, notAfter Time }
//! Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
//! ```

/// Why `notAfter` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidityError {
    /// The DER ended inside an element.
    #[error("certificate DER truncated")]
    Truncated,
    /// An element had another tag than the structure requires.
    #[error("unexpected DER tag {found:#04x}, wanted {wanted:#04x}")]
    Tag {
        /// What the structure requires there.
        wanted: u8,
        /// What the DER holds.
        found: u8,
    },
    /// A length longer than 4 bytes (no certificate is that large).
    #[error("DER length too long")]
    Length,
    /// The time is not `YYMMDDHHMMSSZ` / `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.1-2).
    #[error("malformed certificate time")]
    Time,
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;

/// Splits one TLV off `der`: (tag, contents, rest).
fn element(der: &[u8]) -> Result<(u8, &[u8], &[u8]), ValidityError> {
    let (&tag, rest) = der.split_first().ok_or(ValidityError::Truncated)?;
    let (&first, mut rest) = rest.split_first().ok_or(ValidityError::Truncated)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(ValidityError::Length);
        }
        let (bytes, after) = rest.split_at_checked(n).ok_or(ValidityError::Truncated)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (contents, rest) = rest.split_at_checked(len).ok_or(ValidityError::Truncated)?;
    Ok((tag, contents, rest))
}

fn expect(der: &[u8], wanted: u8) -> Result<(&[u8], &[u8]), ValidityError> {
    let (found, contents, rest) = element(der)?;
    if found != wanted {
        return Err(ValidityError::Tag { wanted, found });
    }
    Ok((contents, rest))
}

/// `notAfter` of the certificate `der`, in seconds since the Unix epoch.
pub fn not_after(der: &[u8]) -> Result<i64, ValidityError> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    let rest = element(rest)?.2; // serialNumber
    let rest = expect(rest, SEQUENCE)?.1; // signature
    let rest = expect(rest, SEQUENCE)?.1; // issuer
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    parse_time(tag, time)
}

fn parse_time(tag: u8, text: &[u8]) -> Result<i64, ValidityError> {
    let digits = |s: &[u8]| -> Result<i64, ValidityError> {
        s.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit()
                .then(|| acc * 10 + i64::from(c - b'0'))
                .ok_or(ValidityError::Time)
        })
    };
    let (year, rest) = match tag {
        // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
        UTC_TIME if text.len() == 13 => {
            let yy = digits(&text[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 15 => (digits(&text[..4])?, &text[4..]),
        UTC_TIME | GENERALIZED_TIME => return Err(ValidityError::Time),
        found => {
            return Err(ValidityError::Tag {
                wanted: UTC_TIME,
                found,
            })
        }
    };
    if rest[10] != b'Z' {
        return Err(ValidityError::Time);
    }
    let (month, day) = (digits(&rest[0..2])?, digits(&rest[2..4])?);
    let (h, m, s) = (
        digits(&rest[4..6])?,
        digits(&rest[6..8])?,
        digits(&rest[8..10])?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return Err(ValidityError::Time);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_not_after_rcgen_wrote() {
        for (year, month, day) in [(2031, 7, 15), (2049, 12, 31), (2050, 1, 1), (1999, 3, 1)] {
            let mut params = rcgen::CertificateParams::new(vec!["a.test".into()]).unwrap();
            params.not_after = rcgen::date_time_ymd(year, month, day);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            let expected = days_from_civil(year.into(), month.into(), day.into()) * 86_400;
            assert_eq!(
                not_after(cert.der()).unwrap(),
                expected,
                "{year}-{month}-{day}"
            );
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_time(UTC_TIME, b"700101000001Z"), Ok(1));
        assert_eq!(
            parse_time(UTC_TIME, b"7001010000Z"),
            Err(ValidityError::Time)
        );
    }

    #[test]
    fn truncated_or_foreign_der_is_an_error() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der();
        for cut in [0, 1, 10, der.len() / 3] {
            assert!(not_after(&der[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(
            not_after(&[0x02, 0x01, 0x00]),
            Err(ValidityError::Tag { .. })
        ));
    }
}
