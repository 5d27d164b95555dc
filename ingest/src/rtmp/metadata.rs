//! `@setDataFrame` / `onMetaData` (FLV spec §E.5 onMetaData; Enhanced RTMP
//! "Enhancing onMetaData"): what the encoder says about the stream. Kept for
//! logs only; the media itself (sequence headers) is authoritative.

use super::amf0::Amf0Value;

/// The onMetaData fields worth logging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamMetadata {
    /// `width`, pixels.
    pub width: Option<f64>,
    /// `height`, pixels.
    pub height: Option<f64>,
    /// `framerate`, frames per second.
    pub framerate: Option<f64>,
    /// `videodatarate`, kbit/s.
    pub videodatarate: Option<f64>,
    /// `audiodatarate`, kbit/s.
    pub audiodatarate: Option<f64>,
    /// `encoder`, e.g. "obs-output module (libobs version 30.0.0)".
    pub encoder: Option<String>,
}

impl StreamMetadata {
    /// Reads a data message (type 18): `["@setDataFrame", "onMetaData", {…}]` or
    /// `["onMetaData", {…}]`. `None` for any other data message.
    pub fn from_data_message(values: &[Amf0Value]) -> Option<Self> {
        let rest = match values.first()?.as_str()? {
            "@setDataFrame" => values.get(1..)?,
            _ => values,
        };
        if rest.first()?.as_str()? != "onMetaData" {
            return None;
        }
        let obj = rest.get(1)?;
        let num = |k: &str| obj.get(k).and_then(Amf0Value::as_number);
        Some(Self {
            width: num("width"),
            height: num("height"),
            framerate: num("framerate"),
            videodatarate: num("videodatarate"),
            audiodatarate: num("audiodatarate"),
            encoder: obj
                .get("encoder")
                .and_then(Amf0Value::as_str)
                .map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_data_frame_and_plain_on_metadata() {
        let obj = Amf0Value::EcmaArray(vec![
            ("width".into(), Amf0Value::Number(1280.0)),
            ("height".into(), Amf0Value::Number(720.0)),
            ("framerate".into(), Amf0Value::Number(30.0)),
            ("videodatarate".into(), Amf0Value::Number(2500.0)),
            ("encoder".into(), Amf0Value::String("Lavf59.27.100".into())),
        ]);
        let s = |t: &str| Amf0Value::String(t.into());
        let a =
            StreamMetadata::from_data_message(&[s("@setDataFrame"), s("onMetaData"), obj.clone()]);
        let b = StreamMetadata::from_data_message(&[s("onMetaData"), obj]);
        assert_eq!(a, b);
        let m = a.unwrap();
        assert_eq!(
            (m.width, m.height, m.framerate),
            (Some(1280.0), Some(720.0), Some(30.0))
        );
        assert_eq!(m.encoder.as_deref(), Some("Lavf59.27.100"));
        assert_eq!(StreamMetadata::from_data_message(&[s("onTextData")]), None);
    }
}
